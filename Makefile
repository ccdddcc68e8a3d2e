PYTHON ?= $(if $(wildcard /work/venv/bin/python),/work/venv/bin/python,python3)
VENV ?= .venv

.PHONY: install run worker beat test test-console bench migrations-check check

install:  ## Install the pinned requirements into the current Python.
	$(PYTHON) -m pip install -r requirements.txt

run:  ## The whole local stack: console, worker, beat, local AWS, edge gateway, local provider.
	PYTHON=$(PYTHON) scripts/run-dev

worker:  ## Just a Celery worker (for running the pieces one by one).
	$(PYTHON) -m celery -A console worker --loglevel=INFO --concurrency=2

beat:
	$(PYTHON) -m celery -A console beat --loglevel=INFO

test:  ## Everything. SQLite and the filesystem broker unless DATABASE_URL / CELERY_BROKER_URL say otherwise.
	$(PYTHON) -m pytest

test-console:
	$(PYTHON) -m pytest tests/console -q

bench:
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PYTHON) $$f || exit 1; done

migrations-check:  ## Fails if a model change has no migration.
	$(PYTHON) manage.py makemigrations --check --dry-run

check:
	$(PYTHON) manage.py check
