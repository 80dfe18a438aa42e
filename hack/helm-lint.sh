#!/usr/bin/env bash
# make helm-lint: the chart's checks with the real helm CLI (built from the
# module proxy by hack/controlplane.sh) and a real API server.
#  1. the chart's copies of the CRDs and RBAC rules match config/ (no drift)
#  2. helm lint --strict, with the defaults and with every option on
#  3. helm template of both into bin/helm-render/
#  4. values.schema.json refuses wrong values, each with the message named here
#  5. every rendered object passes a dry-run server-side apply against
#     kube-apiserver (envtest), with the chart's CRDs and the Prometheus
#     Operator's (ServiceMonitor, PrometheusRule) installed
set -euo pipefail
cd "$(dirname "$0")/.."
CHART=charts/tradeledger
OUT=bin/helm-render
# The Prometheus Operator's CRDs, from its Go module (pinned).
PROMETHEUS_OPERATOR_VERSION=v0.85.0

HELM="$(hack/controlplane.sh --path helm)"
mkdir -p "$OUT"
step() { printf 'helm-lint: %s\n' "$*"; }

step "1/5 chart copies of config/ (hack/chart-sync.sh --check)"
hack/chart-sync.sh --check

ALL_ON=(--set exampleNetwork.enabled=true --set metrics.serviceMonitor.enabled=true
	--set metrics.prometheusRule.enabled=true --set grafana.dashboard.enabled=true
	--set replicaCount=2 --set crds.install=true)
step "2/5 helm lint --strict"
"$HELM" lint --strict "$CHART"
"$HELM" lint --strict "$CHART" "${ALL_ON[@]}"

step "3/5 helm template"
"$HELM" template tradeledger "$CHART" --namespace tradeledger-system >"${OUT}/default.yaml"
"$HELM" template tradeledger "$CHART" --namespace tradeledger-system "${ALL_ON[@]}" >"${OUT}/all-on.yaml"
"$HELM" template tradeledger "$CHART" --namespace tradeledger-system --set crds.install=false >"${OUT}/no-crds.yaml"
if grep -q '^kind: CustomResourceDefinition' "${OUT}/no-crds.yaml"; then
	echo "crds.install=false still renders CRDs"
	exit 1
fi
n="$(grep -c '^kind: CustomResourceDefinition' "${OUT}/default.yaml" || true)"
want="$(ls config/crd/bases/*.yaml | wc -l)"
[[ "$n" -eq "$want" ]] || { echo "default render holds ${n} CRDs, config/crd/bases ${want}"; exit 1; }

step "4/5 values.schema.json refuses wrong values"
# Each case: --set argument | what the error must say.
fails=0
while IFS='|' read -r set want; do
	[[ -n "$set" ]] || continue
	if out="$("$HELM" template t "$CHART" --set "$set" 2>&1)"; then
		echo "  accepted --set ${set}: want a refusal saying \"${want}\""
		fails=1
	elif ! grep -qF -- "$want" <<<"$out"; then
		echo "  --set ${set} refused, but not with \"${want}\":"
		echo "$out" | sed 's/^/    /' | head -5
		fails=1
	else
		echo "  refused --set ${set}: $(grep -F -- "$want" <<<"$out" | head -1 | sed 's/^[- ]*//')"
	fi
done <<'CASES'
replicaCount=0|at '/replicaCount': minimum: got 0, want 1
image.pullPolicy=Sometimes|at '/image/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'
imageTag=v1|additional properties 'imageTag' not allowed
exampleNetwork.replicas=4|at '/exampleNetwork/replicas': value must be one of 1, 3, 5, 7
statusInterval=soon|at '/statusInterval'
logLevel=verbose|at '/logLevel': value must be one of 'debug', 'info', 'error'
metrics.prometheusRule.certificateExpiryDays=0|at '/metrics/prometheusRule/certificateExpiryDays': minimum: got 0, want 1
image.repository=Registry.Example/TL|at '/image/repository'
leaderElection.enabled=false,replicaCount=2|replicaCount > 1 needs leaderElection.enabled=true
CASES
[[ $fails -eq 0 ]] || { echo "values.schema.json checks failed"; exit 1; }

step "5/5 dry-run apply of the rendered objects against kube-apiserver"
# Downloaded outside this module, so that go.mod and go.sum stay as they are.
pocrds="$(cd "$(mktemp -d)" && GOWORK=off GOFLAGS= go mod download -json "github.com/prometheus-operator/prometheus-operator@${PROMETHEUS_OPERATOR_VERSION}" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')/example/prometheus-operator-crd"
[[ -d "$pocrds" ]] || { echo "Prometheus Operator CRDs not found at ${pocrds}"; exit 1; }
mkdir -p "${OUT}/monitoring-crds"
cp "${pocrds}/monitoring.coreos.com_servicemonitors.yaml" "${pocrds}/monitoring.coreos.com_prometheusrules.yaml" "${OUT}/monitoring-crds/"
KUBEBUILDER_ASSETS="$(hack/controlplane.sh)" go run ./hack/dryrun --crds config/crd/bases --crds "${OUT}/monitoring-crds" \
	"${OUT}/all-on.yaml"
rmdir "$(dirname "$(dirname "$pocrds")")" 2>/dev/null || true
step "ok"
