#!/usr/bin/env bash
# The one test command: formatting, vet, race tests of every workspace module,
# per-module standalone build and tidiness, benchmarks once, the peer module,
# and the end-to-end suite. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"

step() { printf '\n=== %s\n' "$*"; }

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

step "go vet work"
go vet work

step "go test -race work"
go test -race -count=1 -timeout 20m work

step "stress tests: TestConcurrentSafe*, -count=50 -race"
go test -race -run 'ConcurrentSafe' -count=50 -timeout 15m work

step "standalone build and go mod tidy -diff, per module"
for dir in $(go list -m -f '{{.Dir}}'); do
	echo "--- ${dir#$PWD/}"
	(cd "$dir" && GOWORK=off go build ./... && GOWORK=off go mod tidy -diff)
done

step "benchmarks once"
go test -run='^$' -bench=. -benchtime=1x -count=1 work

step "e2e: the suite again on API v1 (the default backend runs v2)"
TIKVGO_E2E_API_VERSION=v1 go test -race -count=1 ./e2e/

step "e2e: containers backend (local tikvsim image), when a Docker engine answers"
if go run ./e2e/cmd/dockercheck; then
	TIKVGO_E2E_BACKEND=containers TIKVGO_E2E_IMAGE=local go test -race -count=1 -timeout 20m ./e2e/...
fi

if [ -f peer/go.mod ]; then
	# Three modules outside go.work: the harness (peer), the newest client-go's
	# worker (peer/upstream, on client-go's older kvproto) and tikvgo's worker
	# with the differential test (peer/tikvgo). Then every benchmark scenario
	# once, for every client, with a few operations (peer/README.md).
	step "peer modules (outside go.work): build, vet, tidy, tests, differential test, smoke run"
	peerbin=$(mktemp -d)
	for dir in peer peer/upstream peer/tikvgo; do
		echo "--- $dir"
		# -o a directory: a lone main package would otherwise leave its binary here.
		(cd "$dir" && GOWORK=off go build -o "$peerbin/" ./... && GOWORK=off go vet ./... && GOWORK=off go mod tidy -diff &&
			GOWORK=off go test -count=1 -timeout 15m ./...)
	done
	rm -rf "$peerbin"
	(cd peer && GOWORK=off go run ./cmd/compare -smoke)
fi

if [ -f peer/memdbcmp/go.mod ]; then
	step "peer/memdbcmp (own module: client-go's newest kvproto): vet, tidy, benchmarks once"
	(cd peer/memdbcmp && GOWORK=off go vet ./... && GOWORK=off go mod tidy -diff && GOWORK=off go test -count=1 -run '^$' -bench . -benchtime 1x ./...)
fi

echo
echo "all checks passed"
