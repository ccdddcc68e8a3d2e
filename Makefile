# Gatehouse: `make run` (the whole local stack) and `make test` (every test).
# Both install what they need first: a virtualenv in .venv from the pinned
# requirements, and Debian's Chromium for the browser tests. The image takes
# requirements.txt (runtime) only; .venv gets requirements-test.txt, which
# includes requirements-dev.txt (moto, devidp's toolkit) and the runtime.

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export GATEHOUSE_TEST_VAR ?= var/test

OIDC_PROVIDER := tests/fixtures/oidc_provider
NODE_STAMP := $(OIDC_PROVIDER)/node_modules/.installed

.PHONY: install browser node-deps run worker beat test test-edge test-console bench migrations-check check clean

REQUIREMENTS := requirements.txt requirements-dev.txt requirements-test.txt cli/pyproject.toml

# The `gatehouse` CLI (cli/) goes in editable, so .venv/bin/gatehouse runs this checkout's code.
$(STAMP): $(REQUIREMENTS)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-test.txt
	$(PY) -m pip install --quiet --no-deps -e ./cli
	touch $(STAMP)

install: $(STAMP)  ## Every pinned requirement (runtime, development, tests) and the gatehouse CLI in .venv.

browser:  ## Debian's Chromium for the Playwright tests (needs root, or install it yourself).
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "Install Debian's chromium (sudo apt-get install chromium) for the browser tests."; fi

# The npm oidc-provider for the end-to-end tests, exactly as package-lock.json pins it.
$(NODE_STAMP): $(OIDC_PROVIDER)/package.json $(OIDC_PROVIDER)/package-lock.json
	@if ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; \
	  else echo "Install Node.js 20 and npm (sudo apt-get install nodejs npm) for the oidc-provider tests."; exit 1; fi; \
	fi
	cd $(OIDC_PROVIDER) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

node-deps: $(NODE_STAMP)  ## The npm oidc-provider the end-to-end tests run (npm ci, from the lock file).

run: $(STAMP)  ## The whole local stack: console, worker, beat, local AWS, edge gateway, local provider.
	PYTHON=$(PY) scripts/run-dev

worker: $(STAMP)
	$(PY) -m celery -A console worker --loglevel=INFO --concurrency=2

beat: $(STAMP)
	$(PY) -m celery -A console beat --loglevel=INFO

# pytest exits 5 when it collects nothing: not a failure of the suite.
define pytest
	GATEHOUSE_VAR_DIR=$(GATEHOUSE_TEST_VAR) $(PY) -m pytest $(1); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no tests were collected"; exit 0; fi; exit $$rc
endef

test: $(STAMP) browser $(NODE_STAMP)  ## Everything. SQLite and the filesystem broker unless DATABASE_URL / CELERY_BROKER_URL say otherwise.
	$(call pytest,$(PYTEST_ARGS))

test-edge: $(STAMP)
	$(call pytest,tests/edge $(PYTEST_ARGS))

test-console: $(STAMP)
	$(call pytest,tests/console $(PYTEST_ARGS))

bench: $(STAMP)  ## Benchmarks: each prints medians against a baseline measured in the same run.
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

migrations-check: $(STAMP)  ## Fails if a model change has no migration.
	$(PY) manage.py makemigrations --check --dry-run

check: $(STAMP)
	$(PY) manage.py check

clean:
	rm -rf var/test test-artifacts dist $(OIDC_PROVIDER)/node_modules
