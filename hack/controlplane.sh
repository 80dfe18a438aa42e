#!/usr/bin/env bash
# Build Kubernetes control-plane binaries (kube-apiserver, etcd, ...) and the
# tools around them (CoreDNS, helm) from pinned source through the Go module
# proxy and cache them outside the work tree, keyed by version. A warm run
# only checks the cached binaries.
#
#   export KUBEBUILDER_ASSETS="$(hack/controlplane.sh)"
#   HELM="$(hack/controlplane.sh --path helm)"
#
# Progress goes to stderr; stdout carries only the bin directory (or, with
# --path, the path of each named binary, one a line).
set -euo pipefail

# --- pinned versions --------------------------------------------------------
K8S_VERSION="v1.37.2"   # module k8s.io/kubernetes
ETCD_VERSION="v3.6.8"   # module go.etcd.io/etcd/server/v3

# Staging modules (k8s.io/api, k8s.io/client-go, ...) are published as v0.X.Y
# for Kubernetes v1.X.Y.
K8S_STAGING_VERSION="v0.${K8S_VERSION#v1.}"

# Tools, each cached under its own version key.
COREDNS_VERSION="v1.15.0" # module github.com/coredns/coredns
HELM_VERSION="v3.22.0"    # module helm.sh/helm/v3

DEFAULT_COMPONENTS=(kube-apiserver etcd)
K8S_COMPONENTS=(kube-apiserver kubectl kubelet kube-controller-manager kube-scheduler kube-proxy)

CACHE_BASE="${TRADELEDGER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tradeledger}"
CACHE_DIR="${CACHE_BASE}/controlplane/k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}"
BIN_DIR="${CACHE_DIR}/bin"
SRC_DIR="${CACHE_DIR}/src"
LOG_DIR="${CACHE_DIR}/log"
TOOLS_DIR="${CACHE_BASE}/tools"

# tool_bin NAME: where a tool's binary is cached.
tool_bin() {
	case "$1" in
	coredns) printf '%s\n' "${TOOLS_DIR}/coredns-${COREDNS_VERSION}/coredns" ;;
	helm) printf '%s\n' "${TOOLS_DIR}/helm-${HELM_VERSION}/helm" ;;
	esac
}

log() { printf 'controlplane: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
	cat <<EOF
usage: $0 [--print-dir | --path | --help] [component...]

Builds control-plane binaries from source (Go module proxy) into
  ${BIN_DIR}
and prints that directory on stdout, e.g.
  export KUBEBUILDER_ASSETS="\$($0)"

components: ${K8S_COMPONENTS[*]} etcd coredns helm
default:    ${DEFAULT_COMPONENTS[*]}
versions:   Kubernetes ${K8S_VERSION}, etcd ${ETCD_VERSION},
            CoreDNS ${COREDNS_VERSION}, helm ${HELM_VERSION}
            (coredns and helm are cached under ${TOOLS_DIR})

  --print-dir  print the bin directory without building anything
  --path       print the path of each named component instead of the bin directory
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
	case "$1" in coredns | helm) bin="$(tool_bin "$1")" ;; esac
	[[ -x "$bin" ]] || return 1
	case "$1" in
	kubectl) "$bin" version --client >/dev/null 2>&1 ;;
	coredns) "$bin" -version >/dev/null 2>&1 ;;
	helm) "$bin" version --short >/dev/null 2>&1 ;;
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

# helm_k8s_ldflags: the Kubernetes version helm assumes without a cluster
# (lint's deprecation checks, template's .Capabilities), as helm's Makefile
# sets it: the minor of its k8s.io modules (v0.37 -> 1.37).
helm_k8s_ldflags() {
	local minor=37 f
	f="$(go_env go env GOMODCACHE)/helm.sh/helm/v3@${HELM_VERSION}/go.mod"
	if [[ -f "$f" ]]; then
		minor="$(sed -n 's/^[[:space:]]*k8s.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$f" | head -1)"
	fi
	local p
	for p in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
		printf -- '-X %s.k8sVersionMajor=1 -X %s.k8sVersionMinor=%s ' "$p" "$p" "${minor:-37}"
	done
}

# build_tool NAME MODULE VERSION PACKAGE LDFLAGS: a throwaway module that
# requires MODULE@VERSION (its own replace directives do not apply to a
# dependency, which is what `go install pkg@version` would refuse) and
# builds PACKAGE into the tool's cache directory.
build_tool() {
	local tool="$1" module="$2" version="$3" pkg="$4" ldflags="$5"
	local out dir="${TOOLS_DIR}/src/${tool}" logf="${TOOLS_DIR}/${tool}.log" t0=$SECONDS
	out="$(tool_bin "$tool")"
	mkdir -p "$(dirname "$out")"
	: >"$logf"
	{
		rm -rf "$dir"
		mkdir -p "$dir"
		cd "$dir"
		go_env go mod init "tradeledger.local/tools/${tool}"
		go_env go get "${module}@${version}"
		local tmp="${out}.tmp.$$"
		echo "+ go build ${pkg}"
		go_env go build -trimpath -ldflags "-s -w ${ldflags}" -o "$tmp" "$pkg"
		mv -f "$tmp" "$out"
	} >>"$logf" 2>&1
	log "built ${tool} ${version} in $((SECONDS - t0))s"
}

main() {
	local components=() arg print_paths=0
	for arg in "$@"; do
		case "$arg" in
		-h | --help) usage; exit 0 ;;
		--print-dir) printf '%s\n' "$BIN_DIR"; exit 0 ;;
		--path) print_paths=1 ;;
		-*) usage >&2; die "unknown flag: $arg" ;;
		etcd | coredns | helm) components+=("$arg") ;;
		*) is_k8s_component "$arg" || die "unknown component: $arg (known: ${K8S_COMPONENTS[*]} etcd)"
			components+=("$arg") ;;
		esac
	done
	[[ ${#components[@]} -gt 0 ]] || components=("${DEFAULT_COMPONENTS[@]}")

	command -v go >/dev/null 2>&1 || die "go not found in PATH"
	command -v flock >/dev/null 2>&1 || die "flock not found in PATH (util-linux)"
	mkdir -p "$BIN_DIR" "$SRC_DIR" "$LOG_DIR" "$TOOLS_DIR"

	# One builder at a time per cache (control plane, tools); others wait,
	# then find the cache warm.
	local need_cp=0 need_tools=0
	for c in "${components[@]}"; do
		case "$c" in coredns | helm) need_tools=1 ;; *) need_cp=1 ;; esac
	done
	if [[ $need_tools -eq 1 ]]; then
		exec 8>"${TOOLS_DIR}/.lock"
		if ! flock -n 8; then
			log "another build holds ${TOOLS_DIR}/.lock; waiting…"
			flock 8
		fi
	fi
	if [[ $need_cp -eq 1 ]]; then
		exec 9>"${CACHE_DIR}/.lock"
		if ! flock -n 9; then
			log "another build holds ${CACHE_DIR}/.lock; waiting…"
			flock 9
		fi
	fi

	local c want_k8s=() want_etcd=0 want_tools=()
	for c in "${components[@]}"; do
		if usable "$c"; then
			log "cached: $(component_path "$c")"
		elif [[ "$c" == etcd ]]; then
			want_etcd=1
		elif [[ "$c" == coredns || "$c" == helm ]]; then
			want_tools+=("$c")
		else
			want_k8s+=("$c")
		fi
	done

	local k8s_pid="" etcd_pid="" tool_pids=() failed=0
	# If we are interrupted, stop our own build jobs and drop partial outputs.
	trap 'kill $(jobs -p) 2>/dev/null || true; rm -f "${BIN_DIR}"/.*.tmp.* 2>/dev/null || true' EXIT
	if [[ ${#want_k8s[@]} -gt 0 ]]; then
		log "building ${want_k8s[*]} ${K8S_VERSION} (cold build takes ~11 min on 2 busy cores, up to 40 under heavy load; log: ${LOG_DIR}/kubernetes.log)…"
		build_k8s "${want_k8s[@]}" &
		k8s_pid=$!
	fi
	if [[ $want_etcd -eq 1 ]]; then
		log "building etcd ${ETCD_VERSION} (cold build takes ~3 min on 2 busy cores; log: ${LOG_DIR}/etcd.log)…"
		build_etcd &
		etcd_pid=$!
	fi

	for c in "${want_tools[@]}"; do
		log "building ${c} (cold build takes ~3-6 min; log: ${TOOLS_DIR}/${c}.log)…"
		case "$c" in
		coredns) build_tool coredns github.com/coredns/coredns "$COREDNS_VERSION" github.com/coredns/coredns \
			"-X github.com/coredns/coredns/coremain.GitCommit=${COREDNS_VERSION}" & ;;
		helm) build_tool helm helm.sh/helm/v3 "$HELM_VERSION" helm.sh/helm/v3/cmd/helm \
			"-X helm.sh/helm/v3/internal/version.version=${HELM_VERSION} -X helm.sh/helm/v3/internal/version.gitTreeState=clean $(helm_k8s_ldflags)" & ;;
		esac
		tool_pids+=("$c:$!")
	done

	local tp
	for tp in "${tool_pids[@]}"; do
		if ! wait "${tp#*:}"; then
			failed=1
			log "${tp%%:*} build failed; last lines of ${TOOLS_DIR}/${tp%%:*}.log:"
			tail -n 30 "${TOOLS_DIR}/${tp%%:*}.log" >&2 || true
		fi
	done
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
		usable "$c" || die "$(component_path "$c") does not run after build"
	done
	if [[ $print_paths -eq 1 ]]; then
		for c in "${components[@]}"; do component_path "$c"; done
	else
		printf '%s\n' "$BIN_DIR"
	fi
}

component_path() {
	case "$1" in
	coredns | helm) tool_bin "$1" ;;
	*) printf '%s\n' "${BIN_DIR}/$1" ;;
	esac
}

main "$@"
