# Skiff's commands. Only Go is needed; GOTOOLCHAIN=auto lets an older local Go
# fetch the patched toolchain that go.mod names.
export GOTOOLCHAIN := auto

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X skiff/app.Version=$(VERSION)

.PHONY: run test build generate fmt vet clean bench

## run: start the app on http://localhost:8080 with data/skiff.db
run:
	go run . serve

## test: the whole suite, with the race detector
test:
	go test -race -count=1 ./...

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

clean:
	rm -rf bin

## bench: Go benchmarks of the hot paths, then the load test (bench/main.go)
bench:
	go test -run '^$$' -bench . -benchmem ./app/
	go run ./bench -duration 5s -out bench-results.json
