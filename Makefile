# Shipway — common tasks. `make test` and `make demo` work on a fresh clone.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NPX := npx --no-install

.PHONY: help install test unit lint typecheck crds db-migration bench kube demo clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.package-lock.json ## install dependencies (npm ci)

test: install lint typecheck ## the whole suite: lint, import rules, types, tests (starts a throwaway PostgreSQL and Docker engine when it can)
	@if [ -x scripts/install-helm.sh ]; then scripts/install-helm.sh >/dev/null; fi
	scripts/with-postgres.sh scripts/with-docker.sh $(NPX) vitest run

unit: install ## only the tests, without lint and type checks
	scripts/with-postgres.sh scripts/with-docker.sh $(NPX) vitest run

lint: install ## eslint and the import-layer rules (dependency-cruiser)
	$(NPX) eslint .
	$(NPX) depcruise --config .dependency-cruiser.cjs operator agent test scripts bin bench

typecheck: install ## tsc --noEmit
	$(NPX) tsc --noEmit -p tsconfig.json

.PHONY: test-conformance
test-conformance: install ## the conformance suite (kubectl, helm, client-node) against the real cluster KUBECONFIG points at
	@if [ -z "$$KUBECONFIG" ]; then echo "make test-conformance: KUBECONFIG is not set; point it at the cluster to test (without a cluster, 'npx vitest run test/conformance' runs the suite against the emulator)" >&2; exit 2; fi
	@if [ -x scripts/install-helm.sh ]; then scripts/install-helm.sh >/dev/null; fi
	CONFORMANCE_KUBECONFIG=$$KUBECONFIG $(NPX) vitest run test/conformance

crds: install ## regenerate crds/*.yaml and docs/api-reference.md from operator/src/api
	$(NPX) tsx scripts/generate-crds.ts

db-migration: install ## generate a migration after changing operator/src/storage/schema.ts
	$(NPX) drizzle-kit generate --config operator/drizzle.config.ts

bench: install ## benchmarks (bench/*.ts), each printing a table
	@for b in bench/*.ts; do echo "== $$b"; $(NPX) tsx $$b || exit 1; done

kube: install ## run the Kubernetes API emulator in the foreground (kubeconfig in .tmp/kube/kubeconfig)
	$(NPX) tsx test/kube-api/main.ts --port 0 --kubeconfig .tmp/kube/kubeconfig

demo: install ## the quick start end to end: API emulator, operator, live progress (DEMO_ONCE=1: exit when done)
	DEMO_ONCE=$(DEMO_ONCE) $(NPX) tsx scripts/demo.ts

clean: ## remove installed dependencies and scratch files
	rm -rf node_modules .tmp
