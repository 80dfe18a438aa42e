#!/usr/bin/env bash
# The operator and ledgerctl are clients of the ledger: they speak its wire
# vocabulary (ledgernode/wire, client) and must not link its state machine.
# This check fails when the non-test dependencies of either binary include
# bbolt, Raft, ledgernode/state or ledgernode/trade, naming the package and
# the import chain that pulls it in. Run by `make lint`.
#
#   hack/check-deps.sh            # check both binaries
#
# One exception, named below with its reason: ledgerctl's `backup verify`
# reads a backup offline, and a backup is the node's bbolt state file, so
# ledgernode/backup may bring state and bbolt (and nothing else forbidden).
set -euo pipefail

cd "$(dirname "$0")/.."
MOD=$(go list -m)

FORBIDDEN=(
	go.etcd.io/bbolt
	github.com/hashicorp/raft
	github.com/hashicorp/raft-boltdb
	"$MOD/ledgernode/state"
	"$MOD/ledgernode/trade"
)

# root package | package it may reach them through | forbidden packages that one may bring | why
ALLOW=(
	"./ledgernode/cmd/ledgerctl|$MOD/ledgernode/backup|go.etcd.io/bbolt $MOD/ledgernode/state|ledgerctl backup verify checks a backup offline: the backup is the node's bbolt state file, read with the node's own reader (state.CheckFile, state.CheckChain)"
)

ROOTS=(. ./ledgernode/cmd/ledgerctl)

# check ROOT START SKIP FORBIDDEN...: walk the imports of START (a package
# of ROOT's dependency graph) without entering SKIP, and print each
# forbidden package reached with the chain of imports to it.
check() {
	local root=$1 start=$2 skip=$3
	shift 3
	go list -deps -f '{{.ImportPath}}{{range .Imports}} {{.}}{{end}}' "$root" |
		awk -v start="$start" -v skip="$skip" -v forbidden="$*" '
			{ imports[$1] = substr($0, length($1) + 2) }
			END {
				nf = split(forbidden, fb, " ")
				queue[1] = start; seen[start] = 1; head = 1; tail = 1
				while (head <= tail) {
					p = queue[head++]
					hit = 0
					for (i = 1; i <= nf && !hit; i++) {
						if (p == fb[i] || index(p, fb[i] "/") == 1) hit = 1
					}
					if (hit) { # name it with its import chain; what it imports is its own business
						chain = p
						for (q = p; q in parent; q = parent[q]) chain = parent[q] " -> " chain
						print "  " p "\n    via " chain
						continue
					}
					n = split(imports[p], im, " ")
					for (j = 1; j <= n; j++) {
						c = im[j]
						if (c in seen || c == skip) continue
						seen[c] = 1; parent[c] = p; queue[++tail] = c
					}
				}
			}'
}

fail=0
for root in "${ROOTS[@]}"; do
	rootpkg=$(go list "$root")
	skip="" allowed="" why=""
	for a in "${ALLOW[@]}"; do
		IFS='|' read -r r via pkgs reason <<<"$a"
		if [ "$r" = "$root" ]; then skip=$via allowed=$pkgs why=$reason; fi
	done
	out=$(check "$root" "$rootpkg" "$skip" "${FORBIDDEN[@]}")
	if [ -n "$skip" ]; then
		rest=()
		for f in "${FORBIDDEN[@]}"; do
			case " $allowed " in *" $f "*) ;; *) rest+=("$f") ;; esac
		done
		if go list -deps "$root" | grep -qx "$skip"; then
			more=$(check "$root" "$skip" "" "${rest[@]}")
			if [ -n "$more" ]; then
				out+="${out:+$'\n'}$more"$'\n'"  ($skip may bring only $allowed: $why)"
			fi
		fi
	fi
	if [ -n "$out" ]; then
		echo "check-deps: $rootpkg links the ledger's state machine; it must reach the ledger through ledgernode/client and ledgernode/wire:"
		echo "$out"
		fail=1
	fi
done
if [ "$fail" -ne 0 ]; then
	echo "check-deps: move the type it needs into ledgernode/wire (state and trade alias it), or see hack/check-deps.sh for the one exception"
	exit 1
fi
echo "check-deps: the operator and ledgerctl link no bbolt, Raft, state or trade (ledgerctl: bbolt and state only through ledgernode/backup, for backup verify)"
