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
test: lint verify-gen unit image-test race fuzz-short ## Every test suite (what CI runs; make e2e runs on a local cluster)

# The fault suite runs alone, after the rest: its flood test asserts that no
# election happens while a node is attacked, which holds on two cores only when
# no other suite's test binary competes for them.
.PHONY: unit
unit: envtest ## Tests outside the ledger node: operator on a real API server, fault and security suites
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh)" $(GO) test -count=1 -timeout 20m $$($(GO) list ./... | grep -v -e '/ledgernode/' -e '/test/faults$$')
	$(GO) test -count=1 -timeout 20m -p 1 ./test/faults

.PHONY: envtest
envtest: ## Build (cold ~4 min) or find (warm) kube-apiserver and etcd for the controller suites
	@hack/controlplane.sh >/dev/null

.PHONY: test-operator
test-operator: envtest ## Only the operator's suites: API types, builders, controllers on a real API server
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh)" $(GO) test -count=1 -timeout 10m ./api/... ./controllers/...

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the CRDs and the manager's RBAC role from the kubebuilder markers (and the chart's copies)
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./api/...;./controllers/..." output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	hack/chart-sync.sh

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate the API types' DeepCopy methods
	$(CONTROLLER_GEN) object paths="./api/..."

.PHONY: verify-gen
verify-gen: manifests generate $(KUSTOMIZE) ## Fail when generated code or manifests differ from what is committed, or config/ does not build
	@git diff --exit-code -- api config charts || { echo "generated files are stale: run make manifests generate and commit"; exit 1; }
	@hack/chart-sync.sh --check
	@untracked=$$(git ls-files --others --exclude-standard -- api config charts); if [ -n "$$untracked" ]; then echo "generated files not committed:"; echo "$$untracked"; exit 1; fi
	@for k in config/default config/samples; do $(KUSTOMIZE) build $$k >/dev/null || { echo "kustomize build $$k failed"; exit 1; }; done

.PHONY: deploy
deploy: $(KUSTOMIZE) ## Install the CRDs and the operator (IMG) into the current kubectl context
	cd config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build config/default | kubectl apply --server-side -f -
	git checkout -- config/manager/kustomization.yaml

# The product image without a daemon or registry: static binaries laid on an
# empty base by hack/image (its own module, go-containerregistry), written as
# a docker-archive tarball for `ctr images import` or `docker load`.
DIST := $(CURDIR)/dist
IMAGE_TAR := $(DIST)/tradeledger.tar
PAUSE_TAR := $(DIST)/pause.tar
CLIENT_TAR := $(DIST)/e2e-client.tar
# Extra tags the tarball carries (the E2E suite upgrades from one to the other).
IMAGE_TAGS ?= $(IMG)
IMAGE_BUILDER := $(BIN)/image-builder
STATIC := CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)"

.PHONY: image
image: ## Build the product image as dist/tradeledger.tar (no docker) and the local cluster's dist/pause.tar
	@mkdir -p $(BIN)/image $(DIST)
	$(STATIC) -o $(BIN)/image/operator .
	$(STATIC) -o $(BIN)/image/ ./ledgernode/cmd/ledgernode ./ledgernode/cmd/ledgerctl
	cd hack/image && CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o $(BIN)/image/pause/pause ./pause
	cd hack/image && $(GO) build -o $(IMAGE_BUILDER) .
	$(IMAGE_BUILDER) product --bin $(BIN)/image --out $(IMAGE_TAR) $(foreach t,$(IMAGE_TAGS),--tag $(t)) \
	  --version $(VERSION) --revision "$$(git rev-parse HEAD 2>/dev/null || true)" \
	  --created "$$(git log -1 --format=%ct 2>/dev/null || echo 0)"
	$(IMAGE_BUILDER) pause --bin $(BIN)/image/pause/pause --out $(PAUSE_TAR) --tag tradeledger.local/pause:v1
	$(IMAGE_BUILDER) client --bin $(BIN)/image --pause $(BIN)/image/pause/pause --out $(CLIENT_TAR) --tag tradeledger.local/e2e-client:v1

.PHONY: docker-image
docker-image: ## Build the product image (IMG) with docker from the Dockerfile
	@command -v docker >/dev/null || { echo "make docker-image needs docker (make image needs none)"; exit 1; }
	docker build --build-arg VERSION=$(VERSION) -t $(IMG) .

.PHONY: image-test
image-test: ## The image builder's tests: its file list against the Dockerfile's final stage
	cd hack/image && $(GO) vet ./... && $(GO) test -count=1 ./...

.PHONY: helm-lint
helm-lint: ## helm lint, helm template, schema refusals and an API-server dry-run of the chart
	hack/helm-lint.sh

# A real single-node Kubernetes from source (hack/cluster.sh, needs root).
E2E_REPO := tradeledger.local/tradeledger
E2E_TAG_A := e2e-a
E2E_TAG_B := e2e-b

.PHONY: cluster-up
cluster-up: ## Start the local single-node cluster with the images loaded (root; cold ~20 min, warm ~1 min)
	$(MAKE) image IMAGE_TAGS="$(IMG) $(E2E_REPO):$(E2E_TAG_A) $(E2E_REPO):$(E2E_TAG_B)"
	hack/cluster.sh up $(PAUSE_TAR) $(IMAGE_TAR) $(CLIENT_TAR)

.PHONY: cluster-down
cluster-down: ## Stop the local cluster and undo everything it changed on the host
	hack/cluster.sh down

.PHONY: e2e
e2e: ## The end-to-end suite against the local cluster (make cluster-up first)
	@hack/cluster.sh status >/dev/null
	KUBECONFIG="$$(hack/cluster.sh kubeconfig)" KUBECTL="$$(hack/controlplane.sh --path kubectl)" \
	  HELM="$$(hack/controlplane.sh --path helm)" E2E_CONTAINERD_SOCK="$$(hack/cluster.sh sock)" E2E_IMAGE_REPO=$(E2E_REPO) E2E_TAG_A=$(E2E_TAG_A) E2E_TAG_B=$(E2E_TAG_B) \
	  $(GO) test -tags e2e -count=1 -timeout 40m ./test/e2e -v -ginkgo.v

.PHONY: race
race: ## Race-detector run of the concurrent packages
	@command -v node >/dev/null && command -v npm >/dev/null || echo "W3C conformance check SKIPPED: node/npm not installed (ledgernode/trade TestCredentialsVerifyWithAnIndependentW3CImplementation)"
	$(GO) test -count=1 -race -timeout 20m $(RACE_PKGS)

.PHONY: lint
lint: $(BIN)/staticcheck-$(STATICCHECK_VERSION) ## gofmt, go vet, staticcheck, go mod tidy check, the operator and ledgerctl link no ledger internals
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./test/e2e/...
	$(BIN)/staticcheck-$(STATICCHECK_VERSION) ./...
	$(BIN)/staticcheck-$(STATICCHECK_VERSION) -tags e2e ./test/e2e/...
	cd hack/image && $(BIN)/staticcheck-$(STATICCHECK_VERSION) ./...
	cd hack/etcdload && $(GO) vet ./... && $(BIN)/staticcheck-$(STATICCHECK_VERSION) ./...
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum not tidy: run go mod tidy and commit"; exit 1; }
	@cd hack/image && $(GO) mod tidy -diff >/dev/null || { echo "hack/image/go.mod not tidy: cd hack/image && go mod tidy"; exit 1; }
	@cd hack/etcdload && $(GO) mod tidy -diff >/dev/null || { echo "hack/etcdload/go.mod not tidy: cd hack/etcdload && go mod tidy"; exit 1; }
	@hack/check-deps.sh

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

# make bench races a 3-node tradeledger against a 3-member etcd (built from
# pinned source by hack/controlplane.sh; its Go client lives in its own
# module, hack/etcdload) in one run and prints one table (docs/performance.md).
# BENCH_FLAGS passes more flags to ledgerbench (-o json, -repeat 3, -ab bin/ledgernode.old ...).
.PHONY: bench
bench: build-ledger $(BIN)/etcdload ## tradeledger vs etcd, same run: note and certificate workloads, 16/64/256 clients, open loop (< 15 min)
	@hack/controlplane.sh etcd >/dev/null
	$(BIN)/ledgerbench -protocols request,stream -repeat 2 $(BENCH_FLAGS)

.PHONY: bench-quick
bench-quick: build-ledger $(BIN)/etcdload ## A short race (64 clients, notes, 3 s per level; < 2 min)
	@hack/controlplane.sh etcd >/dev/null
	$(BIN)/ledgerbench -clients 64 -workloads note -protocols stream -seconds 3 -etcd-plaintext=false $(BENCH_FLAGS)

.PHONY: bench-micro
bench-micro: ## Go benchmarks beside the code: signatures, decode, block apply, policies, trade records and verdicts
	$(GO) test -run '^$$' -bench . -benchtime 2000x ./ledgernode/tx/ ./ledgernode/state/ ./ledgernode/policy/... ./ledgernode/trade/

.PHONY: bench-size
bench-size: build-ledger ## State file bytes per certificate, per bucket: 10k USMCA certificates, 10 policies, through the block apply (bytes, not times; ~30 s)
	$(BIN)/ledgerbench size $(SIZE_FLAGS)

.PHONY: bench-scale
bench-scale: build-ledger ## 10k/100k/1M certificates: verdict q/s and p99, RSS, disk, snapshot, restart, join (long: ~30-60 min)
	$(BIN)/ledgerbench scale $(SCALE_FLAGS)

$(BIN)/etcdload: hack/etcdload/main.go hack/etcdload/go.mod
	cd hack/etcdload && $(GO) build -o $(BIN)/etcdload .

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
	rm -rf $(BIN) $(DIST)
