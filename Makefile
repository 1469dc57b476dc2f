# SMMS: the two commands are `make run` (the product, with demo data) and `make test` (the whole suite).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test install messages lint typecheck migrate demo clean help bench-db bench-ingest bench-fire bench-publish chaos-publish bench-inbox

help:
	@echo "make run    start the platform simulator, dashboard, Celery worker and beat, with demo data, on http://127.0.0.1:$(PORT)/"
	@echo "make test   run linters, type checks and the test suite against PostgreSQL and Redis"

# The virtualenv is rebuilt whenever the declared or locked dependencies change.
$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "SMMS needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Compile the translations with polib: no GNU gettext needed on a fresh machine.
messages: install
	$(PY) scripts/compile_messages.py

migrate: messages
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo

# devrun starts the simulator, loads the demo data through it, then the web server, worker and beat.
run: migrate
	$(PY) scripts/devrun.py --port $(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	DJANGO_SETTINGS_MODULE=smms.settings.test $(VENV)/bin/mypy */services.py */selectors.py moderation/outbox.py moderation/routing.py smms/connectors/*.py

test: messages lint typecheck
	@# Model state only: an in-memory database keeps the check independent of the server's databases.
	DJANGO_SETTINGS_MODULE=smms.settings.test DATABASE_URL=sqlite://:memory: $(PY) manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=smms.settings.test $(VENV)/bin/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var

# Benchmarks run on a fresh `smms_bench` database on the local PostgreSQL (figures go to the README).
BENCH_DB ?= postgres://postgres@127.0.0.1:5432/smms_bench
bench-db: messages
	$(PY) -c "import psycopg2; c = psycopg2.connect('dbname=postgres user=postgres host=127.0.0.1'); c.autocommit = True; cur = c.cursor(); cur.execute('DROP DATABASE IF EXISTS smms_bench'); cur.execute('CREATE DATABASE smms_bench')"
	DJANGO_SETTINGS_MODULE=smms.settings.test DATABASE_URL=$(BENCH_DB) $(PY) manage.py migrate -v0

# Ingestion throughput with real Celery workers on PostgreSQL and Redis.
bench-ingest: bench-db
	DJANGO_SETTINGS_MODULE=smms.settings.test DATABASE_URL=$(BENCH_DB) $(PY) manage.py bench_ingest $(BENCH_ARGS)

# Fire alerts: latency after a scripted burst and false alarms per simulated calm day (controlled clock).
bench-fire: bench-db
	DJANGO_SETTINGS_MODULE=smms.settings.test DATABASE_URL=$(BENCH_DB) $(PY) manage.py bench_fire $(BENCH_ARGS)

# Publishing: 10,000 posts on 178 accounts due at once, real workers; then the same under faults, SIGKILLs and a
# Redis restart, compared with the simulator's record (0 duplicates and 0 lost, or the command fails).
bench-publish: bench-db
	DJANGO_SETTINGS_MODULE=smms.settings.test DATABASE_URL=$(BENCH_DB) $(PY) manage.py bench_publish $(BENCH_ARGS)

chaos-publish: bench-db
	DJANGO_SETTINGS_MODULE=smms.settings.test DATABASE_URL=$(BENCH_DB) $(PY) manage.py bench_publish --chaos $(BENCH_ARGS)

# Inbox: 1,000,000 conversations and 3,000,000 messages seeded with COPY, then server-side p50/p95 of the inbox's
# first page with filters, a conversation, assign and reply (through the simulator); query counts per page size.
bench-inbox: bench-db
	DJANGO_SETTINGS_MODULE=smms.settings.test DATABASE_URL=$(BENCH_DB) $(PY) manage.py bench_inbox $(BENCH_ARGS)
