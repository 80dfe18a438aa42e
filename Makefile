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

# The ledger node's packages run under the race detector (they are the
# concurrent ones: Raft, batcher, HTTP, parallel verification); the rest
# (fault and security suites, which run nodes as processes or over TLS)
# run without it. Every test runs once.
RACE_PKGS := ./ledgernode/...

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
test: lint unit race fuzz-short ## Every test suite (what CI runs)

.PHONY: unit
unit: ## Tests outside the ledger node: fault and security suites, operator
	$(GO) test -count=1 -timeout 20m $$($(GO) list ./... | grep -v '/ledgernode/')

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
bench: build ## Benchmarks: signatures, block apply, policies, trade records and verdicts, 3-node throughput and latency
	$(GO) test -run '^$$' -bench . -benchtime 2000x ./ledgernode/tx/ ./ledgernode/state/ ./ledgernode/policy/... ./ledgernode/trade/
	$(BIN)/ledgerbench

.PHONY: faults
faults: ## Fault-injection schedules against node processes: make faults N=1000 [SEED=...]
	$(GO) test -count=1 -timeout 0 ./test/faults -run TestFaultSchedules -schedules $${N:-100} $${SEED:+-seed $$SEED} -out $(CURDIR)/test/faults/out -v 2>&1 | \
	  grep --line-buffered -E '^(faults:|---|FAIL|ok|PASS)|first seed|after [0-9]+ schedules|seed [0-9]+:'

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 30s)
	hack/fuzz.sh $${FUZZTIME:-30s}

.PHONY: fuzz-short
fuzz-short: ## Every fuzz target for a few seconds (part of make test)
	hack/fuzz.sh 3s

.PHONY: clean
clean: ## Remove build output (not the dev network: rm -rf .dev)
	rm -rf $(BIN)
