# Shipshape: `make demo` runs the quickstart plan on this machine, `make test`
# runs every test (unit and integration, against real servers).
GO      ?= go
BIN     := $(CURDIR)/bin
TEMPORAL_CLI_VERSION := v1.5.1
export SHIPSHAPE_TEMPORAL_CLI := $(BIN)/temporal

.PHONY: build temporal demo test test-unit test-integration lint fmt vet docs replay-record bench bench-go bench-loadgen bench-orchestration bench-sbom bench-drill fuzz chaos clean

build:
	$(GO) build -o $(BIN)/starter ./cmd/starter
	$(GO) build -o $(BIN)/worker ./cmd/worker
	$(GO) build -o $(BIN)/notifier ./cmd/notifier

# The dev mode runs the temporal CLI's dev server (SQLite, in a child
# process). It is built once from the Go module proxy; later runs reuse it.
temporal: $(BIN)/temporal
$(BIN)/temporal:
	@echo ">> building the Temporal dev server (temporal CLI $(TEMPORAL_CLI_VERSION)) into bin/ - once, about 3 minutes"
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

demo: build temporal
	$(BIN)/starter run --dev --approve-all examples/plans/quickstart.yaml --report-dir out/quickstart

# Every test once: unit tests and the server-backed ones (build tag
# integration: Temporal dev server, NATS, worker and starter binaries).
test: lint temporal
	$(GO) test -race -count=1 -tags integration -timeout 25m ./...

# Fast loop without servers.
test-unit:
	$(GO) test -race -count=1 ./...

test-integration: test

WORKFLOWCHECK_VERSION := v0.6.0

lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	# Workflow code lives in the engine (workflows/) and in the task types
	# that run as workflows of their own (activities/<type>/).
	$(GO) run go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION) ./workflows/... ./activities/...

vet:
	$(GO) vet ./...
	$(GO) vet -tags integration ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

# docs/plan.md is generated from the task types' declarations.
docs:
	$(GO) run ./cmd/starter docs plan > docs/plan.md

# Re-record the workflow histories the replay test replays.
replay-record: temporal
	$(GO) test -tags integration -count=1 -run TestRecordHistories ./workflows/ -record

# Every side-by-side comparison of issue 20 in one go, each alternating
# its contenders at least 3 times, rewriting the marked tables in
# docs/benchmarks.md. Needs wrk (installed here if missing), PostgreSQL
# and the Temporal dev server; run it on an otherwise idle machine.
bench: temporal
	@command -v wrk >/dev/null 2>&1 || (echo ">> apt-get install wrk"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)
	$(GO) run ./bench/splice -section loadgen -- $(GO) run ./bench/loadgen -runs 3
	$(GO) run ./bench/splice -section orchestration -- $(GO) run ./bench/orchestration -runs 3
	$(GO) run ./bench/splice -section events -code -- $(GO) test -run '^$$' -bench BenchmarkPublishEvents -benchtime 30x -count 3 ./activities/taskrun/
	$(GO) run ./bench/splice -section drill -- $(GO) run ./bench/drill -scale 20 -runs 3

# Every Go benchmark of the code base (micro-benchmarks).
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# The loadtest task type's load generator against wrk on one loopback
# server (needs wrk: apt-get install -y wrk); about 4 minutes. Figures go
# to docs/benchmarks.md.
bench-loadgen:
	$(GO) run ./bench/loadgen

# sbom-scan against the Go vulnerability database beside the repository and
# 50,000 generated advisories: first and cached scans, peak memory, and
# govulncheck on the same module when it is installed (docs/benchmarks.md).
bench-sbom:
	$(GO) run ./bench/sbom

# A backup and restore drill of a 1 GB pgbench database against the bare
# pg_dump -Fc | pg_restore pipeline (needs PostgreSQL's binaries); about
# 6 minutes. Figures go to docs/benchmarks.md.
bench-orchestration: temporal
	$(GO) run ./bench/orchestration

bench-drill:
	$(GO) run ./bench/drill

# The deployment files, checked without Docker or a cluster: Kubernetes
# manifests decoded strictly into k8s.io/api types, docker-compose.yml
# schema-validated by compose-go, Dockerfile rules, and the ports, paths
# and secrets they share (deploy/validate, its own module). Not part of
# lint: its first run downloads those modules.
.PHONY: deploy-check
deploy-check:
	cd deploy/validate && $(GO) test -count=1 ./...
	@if command -v kubectl >/dev/null; then kubectl kustomize deploy/kubernetes >/dev/null && echo "kustomize build ok"; fi

# Every fuzz target of the repository, each for FUZZTIME (corpora under
# each package's testdata/fuzz); the plan parser longer, as it reads what
# users write.
FUZZTIME ?= 20s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 60s -fuzzminimizetime 200x ./plan/
	@for pkg in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for f in $$(grep -h '^func Fuzz' $$pkg/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			[ "$$pkg/$$f" = "./plan/FuzzParse" ] && continue; \
			echo ">> $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 200x $$pkg || exit 1; \
		done; \
	done

# The fault campaign (docs/reliability.md): real Temporal, NATS and worker
# processes, faults at random moments, 20 runs per scenario, one line of
# figures each. CI runs the same tests with 3 runs each.
chaos: temporal
	SHIPSHAPE_CHAOS_RUNS=$${SHIPSHAPE_CHAOS_RUNS:-20} $(GO) test -tags integration -count=1 -timeout 60m -run '^TestChaos' -v ./cmd/starter/ | grep -E '^(worker-kill|nats-kill|temporal-kill|scale):|^(ok|FAIL|--- FAIL)'

clean:
	rm -rf out
