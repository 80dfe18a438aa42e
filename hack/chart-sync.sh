#!/usr/bin/env bash
# Keep the Helm chart's copies of generated manifests identical to config/:
# the CRDs (config/crd/bases), the RBAC rules (config/rbac, the manager
# role generated from the kubebuilder markers) and the admission policy that
# gives each node pod only its own keys (config/admission). The chart renders them from
# these files, so they must never drift.
#
#   hack/chart-sync.sh          # copy (make manifests runs this)
#   hack/chart-sync.sh --check  # fail on drift (make verify-gen, make helm-lint)
set -euo pipefail
cd "$(dirname "$0")/.."
CHART=charts/tradeledger

pairs() {
	local f
	for f in config/crd/bases/*.yaml; do
		printf '%s %s\n' "$f" "${CHART}/files/crds/$(basename "$f")"
	done
	for f in role leader_election_role ledger_editor_role ledger_viewer_role; do
		printf '%s %s\n' "config/rbac/${f}.yaml" "${CHART}/files/rbac/${f}.yaml"
	done
	printf '%s %s\n' config/admission/node_keys_policy.yaml "${CHART}/files/admission/node_keys_policy.yaml"
}

if [[ "${1:-}" == "--check" ]]; then
	drift=0
	while read -r src dst; do
		if ! cmp -s "$src" "$dst"; then
			echo "chart drift: ${dst} differs from ${src}"
			drift=1
		fi
	done < <(pairs)
	for dst in "${CHART}"/files/crds/*.yaml; do
		[[ -f "config/crd/bases/$(basename "$dst")" ]] || { echo "chart drift: ${dst} has no source in config/crd/bases"; drift=1; }
	done
	[[ $drift -eq 0 ]] || { echo "run hack/chart-sync.sh (or make manifests) and commit"; exit 1; }
	exit 0
fi
mkdir -p "${CHART}/files/crds" "${CHART}/files/rbac" "${CHART}/files/admission"
rm -f "${CHART}"/files/crds/*.yaml
while read -r src dst; do cp "$src" "$dst"; done < <(pairs)
