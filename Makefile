# edgehook — see README.md. Everything installs from go.mod/go.sum.
GO      ?= go
BIN     := bin/edgehook
PKGS    := ./...

.PHONY: build run test bench bench-load lint fuzz clean

build:
	$(GO) build -o $(BIN) ./cmd/edgehook

# One gateway on an embedded etcd under ./data, with a demo environment.
run: build
	./$(BIN) serve --data-dir ./data --allow-private-destinations --demo

test: lint
	$(GO) test -count=1 -timeout 12m $(PKGS)

# go test -bench suites (in-process), then a short load run.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./bench/ ./matchers/ ./config/ ./delivery/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# Short fuzzing passes over the parsers and matchers.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzHeader -fuzztime 20s ./matchers/

clean:
	rm -rf bin data
