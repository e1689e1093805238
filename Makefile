# MedBox — `make run` starts a complete local instance; `make test` runs every test.
export GOTOOLCHAIN := auto
# HEIC is decoded by WebAssembly inside the process, never by a system libheif that
# gen2brain/heic would otherwise load when one is installed (native code, untrusted input).
export GOFLAGS := -tags=nodynamic
GO ?= go

.PHONY: run build test test-go fuzz-short lint bench clean

run: ## start a complete instance on http://127.0.0.1:8080 with data in ./data
	$(GO) run ./cmd/medbox serve

build:
	$(GO) build -o bin/medbox ./cmd/medbox

test: test-go fuzz-short ## everything: unit, integration (SQLite + PostgreSQL), S3, SMTP, browser, fuzz

test-go: node_modules/.package-lock.json ## every package's tests; under -race but for scripts/norace-packages
	GO=$(GO) ./scripts/test-go.sh

# axe-core, which the browser tests load into pages (package.json pins it).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund

fuzz-short: ## every Fuzz target for a few seconds each
	./scripts/fuzz-short.sh

lint:
	@out=$$(gofmt -l . | grep -v '^testdata/'); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	@if command -v gosec >/dev/null 2>&1; then gosec -quiet -tags=nodynamic -exclude=G104,G115 -exclude-dir=bench ./...; \
	elif [ "$$CI" = true ]; then echo "gosec is missing (see docs/security-checks.md)"; exit 1; \
	else echo "gosec not installed, skipped: go install github.com/securego/gosec/v2/cmd/gosec@v2.30.0"; fi

bench:
	./scripts/bench.sh

clean:
	rm -rf bin testout node_modules
