#!/usr/bin/env bash
# Run every Go fuzz target in the repository for a while each.
#   hack/fuzz.sh 30s      # make fuzz (longer runs)
#   hack/fuzz.sh 3s       # part of make test (short runs)
# The seed corpus (f.Add and testdata/fuzz/<Target>/) always runs with go test.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${1:-30s}"
failed=0
while read -r pkg; do
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "fuzz: $pkg $target ($fuzztime)"
		if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >/tmp/fuzz-$$.log 2>&1; then
			cat /tmp/fuzz-$$.log
			echo "fuzz: $target FAILED; the failing input is under $pkg/testdata/fuzz/$target/ (rerun: go test -run $target $pkg)"
			failed=1
		fi
	done
done < <(go list -f '{{if .TestGoFiles}}{{.ImportPath}}{{end}}' ./... | grep -v '^$' | while read -r p; do
	if grep -lq '^func Fuzz' "$(go list -f '{{.Dir}}' "$p")"/*_test.go 2>/dev/null; then echo "$p"; fi
done)
rm -f /tmp/fuzz-$$.log
exit $failed
