#!/usr/bin/env bash
# Runs ferry's benchmarks and prints the figures BENCHMARKS.md keeps, each
# target's section with its command:
#   bench/run.sh            all of them, COUNT=10 (about an hour; the ten
#                           million addresses alone take half of it)
#   COUNT=3 bench/run.sh    a quicker pass
# The programs that run alternating runs (minting, catching up) run
# min(COUNT, 5) of each. Scratch data goes to $TMPDIR and is removed.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local
count=${COUNT:-10}
runs=$(( count < 5 ? count : 5 ))
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

if ! command -v benchstat >/dev/null; then
  GOBIN="$out/bin" go install golang.org/x/perf/cmd/benchstat@latest
  PATH="$out/bin:$PATH"
fi
go build -o "$out/ferry" ./cmd/ferry

echo "== 6. scan: a 1 MB block against the watch set, next to wire.MsgBlock.Deserialize"
go test ./relay -run '^$' -bench 'ScanBlock' -benchmem -count "$count" -timeout 60m > "$out/scan.txt"
benchstat "$out/scan.txt"
go test ./chain -run '^$' -bench 'DecodeBlock' -benchmem -count "$count" > "$out/decode.txt"
benchstat "$out/decode.txt"

echo
echo "== watch set lookups"
go test ./store -run '^$' -bench 'WatchSet' -count "$count" -timeout 30m > "$out/watch.txt"
benchstat "$out/watch.txt"

echo
echo "== memory of 10M watched addresses"
go run ./bench/rss -n 10000000

echo
echo "== key derivation and minting in the process (synced store)"
go test ./chain -run '^$' -bench 'Programs' -count "$count" > "$out/keys.txt"
benchstat "$out/keys.txt"
go test ./relay -run '^$' -bench 'Mint' -count "$count" -timeout 30m > "$out/mint.txt"
benchstat "$out/mint.txt"

echo
echo "== 2. minting: /api/receive of a ferry process, 64 clients of another, next to a bare net/http handler"
go run ./bench/mint -ferry "$out/ferry" -n 20000 -runs "$runs"

echo
echo "== an invoice's payment page over HTTP, 64 clients, next to a bare net/http handler"
go test ./api -run '^$' -bench 'InvoicePage' -benchtime 5000x -count "$count" -timeout 30m > "$out/page.txt"
benchstat "$out/page.txt"

echo
echo "== new block to scanned block (regtest litecoind, waitfornewblock)"
go run ./bench/blocklatency -ferry "$out/ferry" -blocks 40

echo
echo "== 3. catching up: 1,000 blocks of downtime, next to a plain client fetching the same raw blocks"
go run ./bench/catchup -ferry "$out/ferry" -blocks 1000 -runs "$runs"

echo
echo "== 5. a busy block: 5,000 deposits confirmed at once, next to the node's own sendrawtransaction"
go run ./bench/forward -ferry "$out/ferry" -n 5000

echo
echo "== 4. notifier: 100k callbacks due at once to a local *ok* sink; 100k pending to a dead host"
go test ./relay -run '^$' -bench 'Callbacks' -benchtime 1x -callbacks 100000 -timeout 60m | grep -E 'callbacks/s|MB'
echo "   and 100k webhooks due at once to a local sink; 100k pending to a dead host"
go test ./invoice -run '^$' -bench 'Webhooks' -benchtime 1x -webhooks 100000 -timeout 60m | grep -E 'webhooks/s|MB'

echo
echo "== 1. ten million addresses in the daemon"
go run ./bench/scale -ferry "$out/ferry" -n 10000000
