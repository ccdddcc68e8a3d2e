# Gatehouse: `make run` (the whole local stack) and `make test` (every test).
# Both install what they need first: a virtualenv in .venv from the pinned
# requirements, and Debian's Chromium for the browser tests. The image takes
# requirements.txt (runtime) only; .venv gets requirements-test.txt, which
# includes requirements-dev.txt (moto, devidp's toolkit) and the runtime.

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export GATEHOUSE_TEST_VAR ?= var/test

.PHONY: install browser run worker beat test test-edge test-console bench migrations-check check clean

REQUIREMENTS := requirements.txt requirements-dev.txt requirements-test.txt

$(STAMP): $(REQUIREMENTS)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $(STAMP)

install: $(STAMP)  ## Every pinned requirement (runtime, development, tests) in .venv.

browser:  ## Debian's Chromium for the Playwright tests (needs root, or install it yourself).
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "Install Debian's chromium (sudo apt-get install chromium) for the browser tests."; fi

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

test: $(STAMP) browser  ## Everything. SQLite and the filesystem broker unless DATABASE_URL / CELERY_BROKER_URL say otherwise.
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
	rm -rf var/test test-artifacts dist
