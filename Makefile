# ferry: make demo, make test. See README.md.
GO ?= go
export GOTOOLCHAIN := local
export PATH := $(PATH):/usr/local/go/bin
# Where go install puts btcd and btcwallet.
export PATH := $(PATH):$(shell PATH="$(PATH)" $(GO) env GOPATH)/bin

.PHONY: build deps test bench-once fuzz demo bench screenshots proto image clean

# Fuzz targets: package:target[:divisor]. make test runs each briefly, make
# fuzz long; a target whose every run touches the store gets FUZZTIME's
# count divided by its divisor.
# Budgets are counts of executions, not durations: Go 1.26's fuzz
# coordinator can fail a duration-bound run with a spurious "context
# deadline exceeded" when it ends (go.dev/issue/75804, fixed in Go 1.27).
FUZZ_TARGETS := ./api:FuzzParseQuery ./api:FuzzCallbackParam ./api:FuzzMerchantForm:20 ./api:FuzzAdminVendor:20 ./api:FuzzAdminKey:20 \
	./relay:FuzzParseCallback ./chain:FuzzDecodeBlock ./chain:FuzzHexResult \
	./rates:FuzzParseDecimal ./rates:FuzzParseFiatAmount ./rates:FuzzCoinGecko ./rates:FuzzKraken \
	./mail:FuzzHeaders ./mail:FuzzParseURL ./webhook:FuzzVerify \
	./api:FuzzFluxcordBody:20 ./api:FuzzPayscryptBody:20 ./api:FuzzPublicID:20 ./api:FuzzPayscryptPlugin:20 ./api:FuzzCoinremitterForm:20 ./api:FuzzCoinremitterAmount:4 \
	./api:FuzzOpenAPIQuery:20 ./api:FuzzOpenAPIForm:20 \
	./cmd/ferry:FuzzParseHeights ./notify:FuzzClass
FUZZTIME ?= 5000000x

build:
	$(GO) build -trimpath -o bin/ferry ./cmd/ferry

# What the tests need and the machine lacks: Debian packages (litecoind,
# php, tor, ...), btcd's tools, the test clients' npm packages.
deps:
	.ci/install-deps

# The whole suite: unit tests, store crash tests, and the integration tests
# against real regtest nodes and real clients (FERRY_REQUIRE_NODES makes a
# missing node or client a failure, not a skip). It installs what it needs
# first, so it works alone on a fresh machine.
test: deps
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	FERRY_REQUIRE_NODES=1 $(GO) test -race -count=1 -timeout 30m ./...
	$(MAKE) --no-print-directory bench-once
	$(MAKE) --no-print-directory fuzz FUZZTIME=100000x

# Every package benchmark once, at a small size, so that none rots (the
# programs under bench/ run at tiny sizes in their own tests, above). No
# timing is checked.
bench-once:
	$(GO) test -run '^$$' -bench . -benchtime 1x ./relay -watched 2000 -callbacks 50
	$(GO) test -run '^$$' -bench . -benchtime 1x ./store -watched 2000
	$(GO) test -run '^$$' -bench . -benchtime 1x ./invoice -webhooks 50
	FERRY_REQUIRE_NODES=1 $(GO) test -run '^$$' -bench . -benchtime 1x ./api ./chain ./recovery

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$$(echo $$t | cut -d: -f1); name=$$(echo $$t | cut -d: -f2); div=$$(echo $$t | cut -d: -s -f3); \
	  n=$(FUZZTIME); n=$${n%x}; n=$$((n / $${div:-1}))x; \
	  echo "fuzz $$name ($$n)"; \
	  $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $$n $$pkg; \
	done

demo: build
	.ci/install-deps litecoind
	$(GO) run ./cmd/ferry-demo -ferry ./bin/ferry

# Every benchmark at full size, with the figures BENCHMARKS.md keeps
# (COUNT=3 for a quicker pass). It needs litecoind.
bench:
	.ci/install-deps litecoind
	bench/run.sh

# Payscrypt's gRPC service: the generated code, from its .proto (a test
# checks that the committed code is what this makes).
proto:
	.ci/install-deps protoc protoc-gen-go protoc-gen-go-grpc
	cd api/payscryptpb && protoc --go_out=. --go_opt=paths=source_relative \
	  --go-grpc_out=. --go-grpc_opt=paths=source_relative pg_api.proto

# The container image operators run (Dockerfile), built with buildah: no
# daemon, and RUN steps in a chroot (no OCI runtime). docker build -t ferry .
# builds the same image.
IMAGE ?= ferry
image:
	.ci/install-deps buildah
	buildah build --isolation chroot -t $(IMAGE) .

# The README's pictures of the payment page, taken by the end-to-end test.
screenshots: deps
	FERRY_REQUIRE_NODES=1 FERRY_SCREENSHOTS=$(CURDIR)/docs $(GO) test -count=1 -run '^TestInvoiceFlow$$' ./cmd/ferry

clean:
	rm -rf bin
