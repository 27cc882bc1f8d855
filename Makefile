# The two commands a fresh machine needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TRANSLATIONS := verifier/translations
PO_FILES := $(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install run test lint format bench translations extract-messages clean

install: $(STAMP) $(MO_FILES)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@ --statistics

translations: $(MO_FILES)

# Collect user-facing strings from code and templates into the catalogs (then translate them).
extract-messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --no-fuzzy-matching

# The scheduler (spot-check plans, overdue cases, the jobs queue) runs in its own process beside
# the web server.
run: install
	$(BIN)/verifier db upgrade
	$(BIN)/verifier demo
	$(BIN)/verifier scheduler & scheduler=$$!; \
	trap 'kill $$scheduler 2>/dev/null' EXIT INT TERM; \
	$(BIN)/verifier run --host $(HOST) --port $(PORT)

# The suite runs on TEST_WORKERS processes (pytest-xdist; each has its own SQLite file and
# PostgreSQL database); TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= 2

test: install
	$(BIN)/ruff check verifier tests bench migrations
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check verifier tests bench migrations
	$(BIN)/ruff format --check verifier tests bench

format: install
	$(BIN)/ruff format verifier tests bench
	$(BIN)/ruff check --fix verifier tests bench

bench: install
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache $(MO_FILES)
