#!/usr/bin/env bash
# Build Kubernetes control-plane binaries (kube-apiserver, etcd, ...) from
# pinned source through the Go module proxy and cache them outside the work
# tree, keyed by version. A warm run only checks the cached binaries.
#
#   export KUBEBUILDER_ASSETS="$(hack/controlplane.sh)"
#
# Progress goes to stderr; stdout carries only the bin directory.
set -euo pipefail

# --- pinned versions --------------------------------------------------------
K8S_VERSION="v1.37.2"   # module k8s.io/kubernetes
ETCD_VERSION="v3.6.8"   # module go.etcd.io/etcd/server/v3

# Staging modules (k8s.io/api, k8s.io/client-go, ...) are published as v0.X.Y
# for Kubernetes v1.X.Y.
K8S_STAGING_VERSION="v0.${K8S_VERSION#v1.}"

DEFAULT_COMPONENTS=(kube-apiserver etcd)
K8S_COMPONENTS=(kube-apiserver kubectl kubelet kube-controller-manager kube-scheduler kube-proxy)

CACHE_BASE="${TRADELEDGER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tradeledger}"
CACHE_DIR="${CACHE_BASE}/controlplane/k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}"
BIN_DIR="${CACHE_DIR}/bin"
SRC_DIR="${CACHE_DIR}/src"
LOG_DIR="${CACHE_DIR}/log"

log() { printf 'controlplane: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
	cat <<EOF
usage: $0 [--print-dir | --help] [component...]

Builds control-plane binaries from source (Go module proxy) into
  ${BIN_DIR}
and prints that directory on stdout, e.g.
  export KUBEBUILDER_ASSETS="\$($0)"

components: ${K8S_COMPONENTS[*]} etcd
default:    ${DEFAULT_COMPONENTS[*]}
versions:   Kubernetes ${K8S_VERSION}, etcd ${ETCD_VERSION}

  --print-dir  print the bin directory without building anything
  --help       show this help

Environment: TRADELEDGER_CACHE overrides the cache root
  (default \${XDG_CACHE_HOME:-\$HOME/.cache}/tradeledger).
EOF
}

is_k8s_component() {
	local c
	for c in "${K8S_COMPONENTS[@]}"; do
		[[ "$c" == "$1" ]] && return 0
	done
	return 1
}

# usable NAME: the cached binary exists and answers a version query.
usable() {
	local bin="${BIN_DIR}/$1"
	[[ -x "$bin" ]] || return 1
	case "$1" in
	kubectl) "$bin" version --client >/dev/null 2>&1 ;;
	*) "$bin" --version >/dev/null 2>&1 ;;
	esac
}

# Go settings for the throwaway build modules: never pick up a go.work or a
# GOFLAGS=-mod=vendor from the caller, always allow go.mod/go.sum updates.
go_env() {
	env GOWORK=off GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0 "$@"
}

# build_k8s COMPONENT... : one module requiring k8s.io/kubernetes, with every
# staging module of kubernetes' go.mod pinned to the published version.
build_k8s() {
	local dir="${SRC_DIR}/kubernetes" logf="${LOG_DIR}/kubernetes.log" t0=$SECONDS
	: >"$logf"
	{
		rm -rf "$dir"
		mkdir -p "$dir"
		cd "$dir"
		go_env go mod init tradeledger.local/controlplane/kubernetes

		local json gomod
		json="$(go_env go mod download -json "k8s.io/kubernetes@${K8S_VERSION}")" || {
			printf '%s\n' "$json"
			return 1
		}
		gomod="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
		[[ -f "$gomod" ]] || { echo "cannot locate go.mod of k8s.io/kubernetes@${K8S_VERSION}"; return 1; }

		# Staging modules: replace directives whose target is a local path
		# (block form "X => ./staging/..." or single-line "replace X => ./...").
		local mods
		mods="$(awk '
			$1 == "replace" && $2 == "(" { inblock = 1; next }
			inblock && $1 == ")"         { inblock = 0; next }
			inblock && $2 == "=>" && $3 ~ /^\.\.?\//          { print $1 }
			$1 == "replace" && $3 == "=>" && $4 ~ /^\.\.?\//  { print $2 }
		' "$gomod" | grep -v '^k8s\.io/sample-' | sort -u)"
		[[ -n "$mods" ]] || { echo "no staging replace directives found in $gomod"; return 1; }

		local m args=(-require="k8s.io/kubernetes@${K8S_VERSION}")
		for m in $mods; do
			args+=(-replace="${m}=${m}@${K8S_STAGING_VERSION}")
		done
		go_env go mod edit "${args[@]}"

		local c pkgs=()
		for c in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/${c}@${K8S_VERSION}"); done
		go_env go get "${pkgs[@]}"

		local major="${K8S_VERSION#v}"
		major="${major%%.*}"
		local minor="${K8S_VERSION#v*.}"
		minor="${minor%%.*}"
		local ldflags="-s -w"
		ldflags+=" -X k8s.io/component-base/version.gitVersion=${K8S_VERSION}"
		ldflags+=" -X k8s.io/component-base/version.gitMajor=${major}"
		ldflags+=" -X k8s.io/component-base/version.gitMinor=${minor}"
		ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"

		for c in "$@"; do
			local tmp="${BIN_DIR}/.${c}.tmp.$$"
			echo "+ go build ${c}"
			go_env go build -trimpath -ldflags "$ldflags" -o "$tmp" "k8s.io/kubernetes/cmd/${c}"
			mv -f "$tmp" "${BIN_DIR}/${c}"
		done
	} >>"$logf" 2>&1
	log "built $* ${K8S_VERSION} in $((SECONDS - t0))s"
}

build_etcd() {
	local dir="${SRC_DIR}/etcd" logf="${LOG_DIR}/etcd.log" t0=$SECONDS
	: >"$logf"
	{
		rm -rf "$dir"
		mkdir -p "$dir"
		cd "$dir"
		go_env go mod init tradeledger.local/controlplane/etcd
		go_env go get "go.etcd.io/etcd/server/v3@${ETCD_VERSION}"
		local tmp="${BIN_DIR}/.etcd.tmp.$$"
		echo "+ go build etcd"
		go_env go build -trimpath -ldflags "-s -w" -o "$tmp" go.etcd.io/etcd/server/v3
		mv -f "$tmp" "${BIN_DIR}/etcd"
	} >>"$logf" 2>&1
	log "built etcd ${ETCD_VERSION} in $((SECONDS - t0))s"
}

main() {
	local components=() arg
	for arg in "$@"; do
		case "$arg" in
		-h | --help) usage; exit 0 ;;
		--print-dir) printf '%s\n' "$BIN_DIR"; exit 0 ;;
		-*) usage >&2; die "unknown flag: $arg" ;;
		etcd) components+=("$arg") ;;
		*) is_k8s_component "$arg" || die "unknown component: $arg (known: ${K8S_COMPONENTS[*]} etcd)"
			components+=("$arg") ;;
		esac
	done
	[[ ${#components[@]} -gt 0 ]] || components=("${DEFAULT_COMPONENTS[@]}")

	command -v go >/dev/null 2>&1 || die "go not found in PATH"
	command -v flock >/dev/null 2>&1 || die "flock not found in PATH (util-linux)"
	mkdir -p "$BIN_DIR" "$SRC_DIR" "$LOG_DIR"

	# One builder at a time per version key; others wait, then find the cache warm.
	exec 9>"${CACHE_DIR}/.lock"
	if ! flock -n 9; then
		log "another build holds ${CACHE_DIR}/.lock; waiting…"
		flock 9
	fi

	local c want_k8s=() want_etcd=0
	for c in "${components[@]}"; do
		if usable "$c"; then
			log "cached: ${BIN_DIR}/${c}"
		elif [[ "$c" == etcd ]]; then
			want_etcd=1
		else
			want_k8s+=("$c")
		fi
	done

	local k8s_pid="" etcd_pid="" failed=0
	# If we are interrupted, stop our own build jobs and drop partial outputs.
	trap 'kill $(jobs -p) 2>/dev/null || true; rm -f "${BIN_DIR}"/.*.tmp.* 2>/dev/null || true' EXIT
	if [[ ${#want_k8s[@]} -gt 0 ]]; then
		log "building ${want_k8s[*]} ${K8S_VERSION} (cold build takes ~4-5 min; log: ${LOG_DIR}/kubernetes.log)…"
		build_k8s "${want_k8s[@]}" &
		k8s_pid=$!
	fi
	if [[ $want_etcd -eq 1 ]]; then
		log "building etcd ${ETCD_VERSION} (cold build takes ~1-2 min; log: ${LOG_DIR}/etcd.log)…"
		build_etcd &
		etcd_pid=$!
	fi

	if [[ -n "$k8s_pid" ]]; then
		if ! wait "$k8s_pid"; then
			failed=1
			log "kubernetes build failed; last lines of ${LOG_DIR}/kubernetes.log:"
			tail -n 30 "${LOG_DIR}/kubernetes.log" >&2 || true
		fi
	fi
	if [[ -n "$etcd_pid" ]]; then
		if ! wait "$etcd_pid"; then
			failed=1
			log "etcd build failed; last lines of ${LOG_DIR}/etcd.log:"
			tail -n 30 "${LOG_DIR}/etcd.log" >&2 || true
		fi
	fi
	rm -f "${BIN_DIR}"/.*.tmp.* 2>/dev/null || true
	trap - EXIT
	[[ $failed -eq 0 ]] || die "build failed"

	for c in "${components[@]}"; do
		usable "$c" || die "${BIN_DIR}/${c} does not run after build"
	done
	printf '%s\n' "$BIN_DIR"
}

main "$@"
