# edgehook — see README.md. Everything installs from go.mod/go.sum.
GO      ?= go
BIN     := bin/edgehook
PKGS    := ./...

.PHONY: build run test bench bench-load soak lint fuzz clean

build:
	$(GO) build -o $(BIN) ./cmd/edgehook

# One gateway on an embedded etcd under ./data, with a demo environment.
run: build
	./$(BIN) serve --data-dir ./data --allow-private-destinations --demo

# Every test, then the concurrent packages again under the race detector
# (it needs cgo, so it is skipped where no C compiler is found).
RACE_PKGS := ./delivery/... ./config/ ./gateway/ ./hooks/ ./matchers/ ./plugins/...
test: lint
	$(GO) test -count=1 -timeout 12m $(PKGS)
	@if [ "$$($(GO) env CGO_ENABLED)" = 1 ]; then \
		echo "$(GO) test -race $(RACE_PKGS)"; $(GO) test -race -count=1 -timeout 12m $(RACE_PKGS); \
	else echo "race detector skipped: cgo is not available"; fi

# go test -bench suites (in-process), then a short load run of the real
# binary against a bare fasthttp ceiling (bench/cmd/load).
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./bench/ ./matchers/ ./config/ ./delivery/ ./plugins/github/ \
		./plugins/slack/ ./plugins/hubspot/ ./plugins/stripe/ ./plugins/hmac/
	$(GO) run ./bench/cmd/load -bin $(BIN) -d 3s

# The full load run: longer phases, and 60 s at full rate with the sink
# down, then the drain.
bench-load: build
	$(GO) run ./bench/cmd/load -bin $(BIN) -d 10s -sink-down 60s

# The soak (not in make test): 10 minutes at half the maximum rate over
# 1,000 destinations of which 50 are slow, 50 hang and 50 fail.
soak: build
	$(GO) run ./bench/cmd/load -bin $(BIN) -soak 10m -drain-timeout 15m

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# Short fuzzing passes over every parser and matcher (FUZZTIME each); the
# seed corpora also run in make test.
FUZZTIME ?= 15s
FUZZ := ./gateway/:FuzzRetryIDs ./matchers/:FuzzHeader ./matchers/:FuzzPathText \
	./matchers/:FuzzTemplate ./matchers/:FuzzTimestamp ./matchers/:FuzzFirstString ./matchers/:FuzzFormObject \
	./matchers/:FuzzEd25519 ./matchers/:FuzzECDSA ./matchers/:FuzzOIDC \
	./matchers/:FuzzURLParams ./matchers/:FuzzBodyHMAC \
	./matchers/:FuzzPresetRoute ./matchers/:FuzzPresetShapes \
	./plugins/airtable/:FuzzVerify ./plugins/airtable/:FuzzRoute \
	./plugins/asana/:FuzzVerify ./plugins/asana/:FuzzRoute \
	./plugins/attio/:FuzzVerify ./plugins/attio/:FuzzRoute \
	./plugins/bitbucket/:FuzzVerify ./plugins/bitbucket/:FuzzRoute \
	./plugins/box/:FuzzVerify ./plugins/box/:FuzzRoute \
	./plugins/calendly/:FuzzVerify ./plugins/calendly/:FuzzRoute \
	./plugins/clerk/:FuzzVerify ./plugins/clerk/:FuzzRoute \
	./plugins/discord/:FuzzVerify ./plugins/discord/:FuzzRoute \
	./plugins/docusign/:FuzzVerify ./plugins/docusign/:FuzzRoute \
	./plugins/dropbox/:FuzzVerify ./plugins/dropbox/:FuzzRoute \
	./plugins/github/:FuzzVerify ./plugins/github/:FuzzRoute \
	./plugins/gitlab/:FuzzVerify ./plugins/gitlab/:FuzzRoute \
	./plugins/hmac/:FuzzVerify ./plugins/hmac/:FuzzRoute \
	./plugins/hubspot/:FuzzVerify ./plugins/hubspot/:FuzzRoute ./plugins/hubspot/:FuzzSplit \
	./plugins/intercom/:FuzzVerify ./plugins/intercom/:FuzzRoute \
	./plugins/jira/:FuzzVerify ./plugins/jira/:FuzzRoute \
	./plugins/linear/:FuzzVerify ./plugins/linear/:FuzzRoute \
	./plugins/mailgun/:FuzzVerify ./plugins/mailgun/:FuzzRoute \
	./plugins/meta/:FuzzVerify ./plugins/meta/:FuzzRoute \
	./plugins/msgraph/:FuzzVerify ./plugins/msgraph/:FuzzRoute \
	./plugins/notion/:FuzzVerify ./plugins/notion/:FuzzRoute \
	./plugins/okta/:FuzzVerify ./plugins/okta/:FuzzRoute \
	./plugins/paddle/:FuzzVerify ./plugins/paddle/:FuzzRoute \
	./plugins/pagerduty/:FuzzVerify ./plugins/pagerduty/:FuzzRoute \
	./plugins/pubsub/:FuzzVerify ./plugins/pubsub/:FuzzRoute \
	./plugins/salesforce/:FuzzVerify ./plugins/salesforce/:FuzzRoute ./plugins/salesforce/:FuzzSOAP \
	./plugins/sendgrid/:FuzzVerify ./plugins/sendgrid/:FuzzRoute \
	./plugins/sentry/:FuzzVerify ./plugins/sentry/:FuzzRoute \
	./plugins/shopify/:FuzzVerify ./plugins/shopify/:FuzzRoute \
	./plugins/slack/:FuzzVerify ./plugins/slack/:FuzzRoute ./plugins/slack/:FuzzHandshake \
	./plugins/square/:FuzzVerify ./plugins/square/:FuzzRoute \
	./plugins/standardwebhooks/:FuzzVerify ./plugins/standardwebhooks/:FuzzRoute \
	./plugins/streak/:FuzzVerify ./plugins/streak/:FuzzRoute \
	./plugins/stripe/:FuzzVerify ./plugins/stripe/:FuzzRoute \
	./plugins/twilio/:FuzzVerify ./plugins/twilio/:FuzzRoute \
	./plugins/twitch/:FuzzVerify ./plugins/twitch/:FuzzRoute \
	./plugins/typeform/:FuzzVerify ./plugins/typeform/:FuzzRoute \
	./plugins/xero/:FuzzVerify ./plugins/xero/:FuzzRoute \
	./plugins/zendesk/:FuzzVerify ./plugins/zendesk/:FuzzRoute \
	./plugins/zoom/:FuzzVerify ./plugins/zoom/:FuzzRoute \
	./delivery/spool/:FuzzDecodeDelivery ./internal/jsonx/:FuzzAppendString \
	./internal/telemetry/:FuzzParseTraceParent \
	./delivery/:FuzzRunnerReply ./gateway/:FuzzSyncNotification \
	./gateway/:FuzzIngress
fuzz:
	@for t in $(FUZZ); do \
		echo "fuzz $$t"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) "$${t%%:*}" || exit 1; \
	done

clean:
	rm -rf bin data
