# Flowport — `make run` starts the portal on the embedded default; `make test` runs the whole suite.
SHELL := /bin/bash
MANAGE := uv run --locked python manage.py

.PHONY: setup run test test-sqlite lint format messages bench bench-faults bench-exports

setup:
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@command -v msgfmt >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq gettext)
	@# The CJK font PDF receipts embed (FLOWPORT_RECEIPT_FONT); without it receipts fall back to English.
	@[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || (apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei)
	uv sync --locked --quiet

run: setup
	$(MANAGE) migrate --noinput
	$(MANAGE) compilemessages --ignore=.venv -v 0
	$(MANAGE) bootstrap_demo
	$(MANAGE) simulate_traffic
	$(MANAGE) run_scheduler & trap "kill $$! 2>/dev/null" EXIT; $(MANAGE) runserver 127.0.0.1:8000

test: setup
	$(MANAGE) compilemessages --ignore=.venv -v 0
	uv run --locked pytest --create-db $(ARGS)
	$(SQLITE_TIER)

# The SQLite tier: the tests marked `sqlite` (tests/conftest.py SQLITE_TIER) again on the embedded default,
# on a database file under var/ (never :memory:, so threads share it as a threaded server's requests do).
# The test database starts from nothing, its WAL files included (a stale WAL must never meet a new file).
SQLITE_TIER = mkdir -p var && rm -f var/test_sqlite-tier.sqlite3* \
	&& DATABASE_URL=sqlite:///$(CURDIR)/var/sqlite-tier.sqlite3 uv run --locked pytest --create-db -m sqlite

test-sqlite: setup
	$(MANAGE) compilemessages --ignore=.venv -v 0
	$(SQLITE_TIER)

lint: setup
	uv run --locked ruff check .
	uv run --locked ruff format --check .
	uv run --locked djlint templates --lint
	uv run --locked lint-imports

format: setup
	uv run --locked ruff check --fix .
	uv run --locked ruff format .
	uv run --locked djlint templates --reformat

messages: setup
	$(MANAGE) makemessages -l zh_Hans --ignore=.venv --ignore=staticfiles --no-obsolete
	$(MANAGE) compilemessages --ignore=.venv

bench: setup
	uv run --locked python bench/run.py

# Peak memory of a 100,000-row CSV export, streamed (a figure, not a test).
bench-exports: setup
	uv run --locked python bench/exports_memory.py

bench-faults: setup
	uv run --locked python bench/faults.py

# --- LiteLLM Proxy integration (integrations/litellm): its own uv project and lock, kept out of the portal's env.
# The end-to-end tests in tests/integrations/ run the proxy from this environment (and sync it themselves).
.PHONY: litellm-env
litellm-env:
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
	cd integrations/litellm && uv sync --locked --quiet
