#!/usr/bin/env bash
# Run every Go fuzz target in the repository for a budget each.
#   hack/fuzz.sh 30s        # make fuzz: a wall-clock budget per target
#   hack/fuzz.sh 10000x     # make test: an execution-count budget per target
# The seed corpus (f.Add and testdata/fuzz/<Target>/) always runs with go test.
#
# Why make test uses a count: with a duration, Go's fuzz coordinator (up to
# Go 1.26) can report "context deadline exceeded" as a failure at the moment
# the budget runs out, with no failing input (golang/go#75804, fixed in Go
# 1.27). A count has no deadline to race, so a red run always means a finding.
# With a duration, a failure that wrote no reproducer and says only
# "context deadline exceeded" is that race: it is retried once and, if it
# repeats, reported as a flake without failing the run. Any other failure,
# or any new file under testdata/fuzz/<Target>/, fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
budget="${1:-30s}"
failed=0
flaked=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

corpus_listing() { ls -1 "$1" 2>/dev/null || true; }

# run_target PKG DIR TARGET: 0 pass, 1 finding, 2 coordinator deadline race.
run_target() {
	local pkg=$1 dir=$2 target=$3 before after
	before=$(corpus_listing "$dir/testdata/fuzz/$target")
	if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$budget" "$pkg" >"$log" 2>&1; then
		return 0
	fi
	after=$(corpus_listing "$dir/testdata/fuzz/$target")
	if [[ "$before" == "$after" ]] &&
		grep -q 'context deadline exceeded' "$log" &&
		! grep -qE 'Failing input written|panic:|^[[:space:]]+[^[:space:]]+\.go:[0-9]+:' "$log"; then
		return 2
	fi
	return 1
}

while read -r pkg; do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "fuzz: $pkg $target ($budget)"
		rc=0
		run_target "$pkg" "$dir" "$target" || rc=$?
		if [[ $rc -eq 2 ]]; then
			echo "fuzz: $target stopped with the coordinator's deadline race (golang/go#75804, no input written); retrying once"
			rc=0
			run_target "$pkg" "$dir" "$target" || rc=$?
			if [[ $rc -eq 2 ]]; then
				echo "fuzz: $target: deadline race again, no finding; counted as a flake"
				flaked=$((flaked + 1))
				continue
			fi
		fi
		if [[ $rc -ne 0 ]]; then
			cat "$log"
			echo "fuzz: $target FAILED; the failing input is under $dir/testdata/fuzz/$target/ (rerun: go test -run $target $pkg)"
			failed=1
		fi
	done
done < <(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./... | grep -v '^$' | while read -r p; do
	if grep -lq '^func Fuzz' "$(go list -f '{{.Dir}}' "$p")"/*_test.go 2>/dev/null; then echo "$p"; fi
done)
if [[ $flaked -gt 0 ]]; then
	echo "fuzz: $flaked target(s) hit only the coordinator's deadline race; use a count budget (e.g. 10000x) to avoid it"
fi
exit $failed
