#!/usr/bin/env bash
# make test-go: every package's tests, under the race detector except the
# packages in scripts/norace-packages (why: that file), which run at the same
# time without it. Fails if either run fails.
set -uo pipefail
cd "$(dirname "$0")/.."
go=${GO:-go}
mapfile -t norace < <(grep -v -e '^#' -e '^$' scripts/norace-packages)
# The race run takes every package but those (go list prints import paths).
mapfile -t noraceImports < <("$go" list "${norace[@]}")
mapfile -t race < <("$go" list ./... | grep -v -x -F -f <(printf '%s\n' "${noraceImports[@]}"))

# internal/dicom runs under -race, where its corpus tests decode a sample; here
# they decode every file (internal/dicom/corpus_test.go, inRaceSample).
{ "$go" test -timeout 25m "${norace[@]}" &&
	"$go" test -timeout 25m -run '^(TestCorpus|TestParseAtMatchesParse)$' ./internal/dicom; } &
plain=$!
"$go" test -race -timeout 25m "${race[@]}"
status=$?
wait "$plain" || status=1
exit $status
