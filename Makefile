# tradeledger — see README.md. Every tool is built from pinned source through
# the Go module proxy into bin/ (or, for the control plane, into a cache
# outside the work tree): a fresh machine needs only Go.
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec
GO ?= go
BIN := $(CURDIR)/bin
export GOFLAGS := -buildvcs=false

STATICCHECK_VERSION := v0.8.2
# controller-tools v0.23.0 is built against k8s.io v0.37, as controller-runtime v0.25 is.
CONTROLLER_TOOLS_VERSION := v0.23.0
CONTROLLER_GEN := $(BIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
# kustomize v5.8.1 is the newest that builds with Go 1.26.
KUSTOMIZE_VERSION := v5.8.1
KUSTOMIZE := $(BIN)/kustomize-$(KUSTOMIZE_VERSION)
IMG ?= tradeledger:dev

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
build: build-ledger ## Build the operator, ledgernode, ledgerctl and ledgerbench into bin/
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/operator .

.PHONY: build-ledger
build-ledger: ## Build ledgernode, ledgerctl and ledgerbench into bin/
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./ledgernode/cmd/...

.PHONY: dev
dev: build-ledger ## Run a local 3-node network with demo data (Ctrl-C stops; rerun resumes)
	$(BIN)/ledgernode dev --dir .dev

.PHONY: test
test: lint verify-gen unit race fuzz-short ## Every test suite (what CI runs)

.PHONY: unit
unit: envtest ## Tests outside the ledger node: operator on a real API server, fault and security suites
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh)" $(GO) test -count=1 -timeout 20m $$($(GO) list ./... | grep -v '/ledgernode/')

.PHONY: envtest
envtest: ## Build (cold ~4 min) or find (warm) kube-apiserver and etcd for the controller suites
	@hack/controlplane.sh >/dev/null

.PHONY: test-operator
test-operator: envtest ## Only the operator's suites: API types, builders, controllers on a real API server
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh)" $(GO) test -count=1 -timeout 10m ./api/... ./controllers/...

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the CRDs and the manager's RBAC role from the kubebuilder markers
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./api/...;./controllers/..." output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate the API types' DeepCopy methods
	$(CONTROLLER_GEN) object paths="./api/..."

.PHONY: verify-gen
verify-gen: manifests generate $(KUSTOMIZE) ## Fail when generated code or manifests differ from what is committed, or config/ does not build
	@git diff --exit-code -- api config || { echo "generated files are stale: run make manifests generate and commit"; exit 1; }
	@untracked=$$(git ls-files --others --exclude-standard -- api config); if [ -n "$$untracked" ]; then echo "generated files not committed:"; echo "$$untracked"; exit 1; fi
	@for k in config/default config/samples; do $(KUSTOMIZE) build $$k >/dev/null || { echo "kustomize build $$k failed"; exit 1; }; done

.PHONY: deploy
deploy: $(KUSTOMIZE) ## Install the CRDs and the operator (IMG) into the current kubectl context
	cd config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build config/default | kubectl apply --server-side -f -
	git checkout -- config/manager/kustomization.yaml

.PHONY: image
image: ## Build the product image (operator, ledgernode, ledgerctl) with docker
	@command -v docker >/dev/null || { echo "make image needs docker (or set DOCKER=podman)"; exit 1; }
	docker build --build-arg VERSION=$(VERSION) -t $(IMG) .

.PHONY: race
race: ## Race-detector run of the concurrent packages
	@command -v node >/dev/null && command -v npm >/dev/null || echo "W3C conformance check SKIPPED: node/npm not installed (ledgernode/trade TestCredentialsVerifyWithAnIndependentW3CImplementation)"
	$(GO) test -count=1 -race -timeout 20m $(RACE_PKGS)

.PHONY: lint
lint: $(BIN)/staticcheck-$(STATICCHECK_VERSION) ## gofmt, go vet, staticcheck, go mod tidy check
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(BIN)/staticcheck-$(STATICCHECK_VERSION) ./...
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum not tidy: run go mod tidy and commit"; exit 1; }

$(KUSTOMIZE):
	@mkdir -p $(BIN)/.tmp
	GOBIN=$(BIN)/.tmp $(GO) install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)
	mv $(BIN)/.tmp/kustomize $@

$(CONTROLLER_GEN):
	@mkdir -p $(BIN)/.tmp
	GOBIN=$(BIN)/.tmp $(GO) install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
	mv $(BIN)/.tmp/controller-gen $@

$(BIN)/staticcheck-$(STATICCHECK_VERSION):
	@mkdir -p $(BIN)/.tmp
	GOBIN=$(BIN)/.tmp $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(BIN)/.tmp/staticcheck $@

.PHONY: bench
bench: build-ledger ## Benchmarks: signatures, block apply, policies, trade records and verdicts, 3-node throughput and latency
	$(GO) test -run '^$$' -bench . -benchtime 2000x ./ledgernode/tx/ ./ledgernode/state/ ./ledgernode/policy/... ./ledgernode/trade/
	$(BIN)/ledgerbench

.PHONY: faults
faults: ## Fault-injection schedules against node processes: make faults N=1000 [SEED=...]
	@mkdir -p $(CURDIR)/test/faults/out
	$(GO) test -count=1 -timeout 0 ./test/faults -run TestFaultSchedules -schedules $${N:-100} $${SEED:+-seed $$SEED} -out $(CURDIR)/test/faults/out -v 2>&1 | \
	  tee $(CURDIR)/test/faults/out/go-test.log | \
	  grep --line-buffered -E '^(faults:|---|FAIL|ok|PASS)|first seed|after [0-9]+ schedules|seed [0-9]+:'

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 30s)
	hack/fuzz.sh $${FUZZTIME:-30s}

.PHONY: fuzz-short
fuzz-short: ## Every fuzz target for 10,000 executions (part of make test)
	hack/fuzz.sh 10000x

.PHONY: clean
clean: ## Remove build output (not the dev network: rm -rf .dev)
	rm -rf $(BIN)
