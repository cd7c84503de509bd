#!/usr/bin/env bash
# Runs ferry's benchmarks and prints the figures BENCHMARKS.md keeps:
#   bench/run.sh            all of them (about ten minutes)
#   COUNT=3 bench/run.sh    fewer repetitions
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local
count=${COUNT:-10}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

if ! command -v benchstat >/dev/null; then
  GOBIN="$out/bin" go install golang.org/x/perf/cmd/benchstat@latest
  PATH="$out/bin:$PATH"
fi

echo "== block scan against the watch set, next to wire.MsgBlock.Deserialize"
go test ./relay -run '^$' -bench 'ScanBlock' -benchmem -count "$count" -timeout 60m > "$out/scan.txt"
benchstat "$out/scan.txt"

echo
echo "== minting (synced store)"
go test ./relay -run '^$' -bench 'Mint' -count "$count" -timeout 30m > "$out/mint.txt"
benchstat "$out/mint.txt"

echo
echo "== watch set lookups"
go test ./store -run '^$' -bench 'WatchSet' -count "$count" -timeout 30m > "$out/watch.txt"
benchstat "$out/watch.txt"

echo
echo "== memory of 10M watched addresses"
go run ./bench/rss -n 10000000

echo
echo "== new block to scanned block (regtest litecoind, waitfornewblock)"
go build -o "$out/ferry" ./cmd/ferry
go run ./bench/blocklatency -ferry "$out/ferry" -blocks 40

echo
echo "== /api/receive over HTTP, 64 clients, next to a bare net/http handler"
go test ./api -run '^$' -bench 'ReceiveHTTP' -benchtime 20000x -count "$count" -timeout 30m > "$out/http.txt"
benchstat "$out/http.txt"

echo
echo "== an invoice's payment page over HTTP, 64 clients, next to a bare net/http handler"
go test ./api -run '^$' -bench 'InvoicePage' -benchtime 5000x -count "$count" -timeout 30m > "$out/page.txt"
benchstat "$out/page.txt"

echo
echo "== notifier: 100k callbacks due at once to a local *ok* sink; 100k pending to a dead host"
go test ./relay -run '^$' -bench 'Callbacks' -benchtime 1x -callbacks 100000 -timeout 60m | grep -E 'callbacks/s|MB'
