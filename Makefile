# tradeledger — see README.md. Every tool is built from pinned source through
# the Go module proxy into bin/ (or, for the control plane, into a cache
# outside the work tree): a fresh machine needs only Go.
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec
GO ?= go
BIN := $(CURDIR)/bin
export GOFLAGS := -buildvcs=false

STATICCHECK_VERSION := v0.8.2

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

# Packages whose tests exercise concurrency run under the race detector.
RACE_PKGS := ./ledgernode/tx/... ./ledgernode/state/... ./ledgernode/consensus/... ./ledgernode/server/... ./ledgernode/trade/...

.PHONY: help
help: ## Show the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build ledgernode, ledgerctl and ledgerbench into bin/
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./ledgernode/cmd/...

.PHONY: dev
dev: build ## Run a local 3-node network with demo data (Ctrl-C stops; rerun resumes)
	$(BIN)/ledgernode dev --dir .dev

.PHONY: test
test: lint unit race ## Every test suite (what CI runs)

.PHONY: unit
unit: ## Unit, cluster and fuzz-seed tests
	$(GO) test -count=1 -timeout 20m ./...

.PHONY: race
race: ## Race-detector run of the concurrent packages
	$(GO) test -count=1 -race -timeout 20m $(RACE_PKGS)

.PHONY: lint
lint: $(BIN)/staticcheck-$(STATICCHECK_VERSION) ## gofmt, go vet, staticcheck, go mod tidy check
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(BIN)/staticcheck-$(STATICCHECK_VERSION) ./...
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum not tidy: run go mod tidy and commit"; exit 1; }

$(BIN)/staticcheck-$(STATICCHECK_VERSION):
	@mkdir -p $(BIN)/.tmp
	GOBIN=$(BIN)/.tmp $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(BIN)/.tmp/staticcheck $@

.PHONY: bench
bench: build ## Benchmarks: signatures, block apply, trade records and verdicts, 3-node throughput and latency
	$(GO) test -run '^$$' -bench . -benchtime 2000x ./ledgernode/tx/ ./ledgernode/state/ ./ledgernode/trade/
	$(BIN)/ledgerbench

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 30s)
	hack/fuzz.sh $${FUZZTIME:-30s}

.PHONY: clean
clean: ## Remove build output (not the dev network: rm -rf .dev)
	rm -rf $(BIN)
