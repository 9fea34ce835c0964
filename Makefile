# Skiff's commands. Only Go is needed; GOTOOLCHAIN=auto lets an older local Go
# fetch the patched toolchain that go.mod names.
export GOTOOLCHAIN := auto

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X skiff/app.Version=$(VERSION)

.PHONY: run test test-postgres build generate fmt vet lint clean bench vulncheck rename

# The first build compiles every dependency, above all the pure-Go SQLite
# (modernc.org/sqlite): minutes on a small machine (see the README). -v names
# each package as it compiles, so the wait is not silent.

## run: start the app on http://localhost:8080 with data/skiff.db
run:
	@echo "--- compiling (the first time about 2 minutes on 2 cores, then seconds); each package as it compiles:"
	go run -v . serve

## test: the whole suite, with the race detector; ends with the skipped tests and why
test:
	@echo "--- compiling with the race detector (the first time about 4 minutes on 2 cores, then seconds):"
	go build -race -v ./...
	@echo "--- testing: a line per package, each failing test in full, then the skipped tests"
	go run .ci/gotest.go -race -count=1 ./...

## test-postgres: the whole suite again, on a throw-away PostgreSQL server (tools/withpostgres); says so and passes without PostgreSQL's programs
test-postgres:
	@echo "--- compiling with the race detector, then testing on PostgreSQL:"
	go run ./tools/withpostgres -- go run .ci/gotest.go -race -count=1 ./...

## build: a static binary in bin/skiff, plus bin/skiff-linux-amd64 and bin/skiff-linux-arm64
build:
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o bin/skiff .
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags '$(LDFLAGS)' -o bin/skiff-linux-amd64 .
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -trimpath -ldflags '$(LDFLAGS)' -o bin/skiff-linux-arm64 .

## generate: regenerate the templ views (*_templ.go, committed)
generate:
	go tool templ generate

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	go vet ./...

## lint: go vet, then staticcheck (a go tool in go.mod); each deliberate exception has a //lint:ignore with its reason
lint: vet
	go tool staticcheck ./...

clean:
	rm -rf bin

## bench: Go benchmarks of the hot paths, then the load test (bench/main.go) on SQLite, then the same routes on a throw-away PostgreSQL (skipped without it)
bench:
	go test -run '^$$' -bench . -benchmem ./app/
	go run ./bench -duration 5s -out bench-results.json
	go run ./tools/withpostgres -- sh -c 'go run ./bench -duration 5s -postgres "$$SKIFF_TEST_POSTGRES" -profile "" -out bench-results-postgres.json' 

## rename: make a fresh fork yours: make rename MODULE=github.com/acme/app NAME=Acme
rename:
	go run ./tools/rename -module '$(MODULE)' -name '$(NAME)'
	@echo "--- checking that the renamed tree builds"
	go build ./...

# govulncheck cannot reach its online database from the build machines, so
# vulncheck builds one from the golang.org/x/vulndb module (a pinned
# snapshot: raise VULNDB_VERSION to refresh it) with its cmd/indexdb.
VULNDB_VERSION ?= v0.0.0-20261105234957-e22db6528018
GOVULNCHECK_VERSION ?= v1.9.0
VULNDB_OUT := $(CURDIR)/.cache/vulndb

## vulncheck: govulncheck against a local copy of the Go vulnerability database
vulncheck:
	@dir=$$(go mod download -json golang.org/x/vulndb@$(VULNDB_VERSION) | sed -n 's/.*"Dir": "\(.*\)",*/\1/p'); \
	test -n "$$dir" || { echo "could not download golang.org/x/vulndb"; exit 1; }; \
	rm -rf $(VULNDB_OUT) && mkdir -p $(VULNDB_OUT) && \
	(cd "$$dir" && go run ./cmd/indexdb -vulns "$$dir/data/osv" -out $(VULNDB_OUT)) && \
	go run golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION) -db file://$(VULNDB_OUT) ./...
