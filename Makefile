# The two commands a newcomer needs: `make run` and `make test`.
# Both create .venv on first use and (re)install when pyproject.toml changes.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint format bench bench-telegram bench-zalo bench-reminders bench-admin bench-kill bench-flood bench-calls bench-paper old-communes messages clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=python3.12 for example).")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

## run: start the bot (the terminal chat on ./data/cdht.sqlite3 when no channel is configured)
run: $(STAMP)
	$(BIN)/cdht run

## test: lint, format and type checks and the whole test suite (PostgreSQL tests skip if it is not running)
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: the dispatcher benchmark on SQLite and PostgreSQL (figures go in docs/PERFORMANCE.md)
bench: $(STAMP)
	$(BIN)/python -m bench.dispatcher

## bench-telegram: 500 people through the real PTB stack against a fake Bot API, ours vs a naive bot
bench-telegram: $(STAMP)
	$(BIN)/python -m bench.telegram

## bench-zalo: 200 followers through signed webhooks and a fake OA API, steady and with a kill -9
bench-zalo: $(STAMP)
	$(BIN)/python -m bench.zalo

## bench-reminders: 1,000,000 people, 100,000 nudges due: claim batches, and sending at 30/s
bench-reminders: $(STAMP)
	$(BIN)/python -m bench.reminders

## bench-admin: 1M citizens (SQLite, PostgreSQL) and 5M (PostgreSQL): the digests from the counters, a province xlsx
bench-admin: $(STAMP)
	$(BIN)/python -m bench.admin

## bench-kill: 100 chats on Telegram, kill -9 half-way: messages repeated or lost per 100 chats
bench-kill: $(STAMP)
	$(BIN)/python -m bench.kill

## bench-calls: function calls per message through the dispatcher (work counted, not timed)
bench-calls: $(STAMP)
	$(BIN)/python -m bench.calls

## old-communes: rewrite flows/old_communes.csv (the names of before 2025) from vietnamadminunits
old-communes: $(STAMP)
	$(BIN)/python -m tools.old_communes

## bench-paper: `cdht import` of 10,000 paper forms into one commune, then the same file again
bench-paper: $(STAMP)
	$(BIN)/python -m bench.paper

## bench-flood: 200 junk 1 MB webhook POSTs at once, three times: the bot's peak memory
bench-flood: $(STAMP)
	$(BIN)/python -m bench.flood

## messages: re-extract user-facing strings and merge them into locales/*/messages.po
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ -k n_:1,2 --no-default-keywords --sort-by-file \
		--project cdht-bot --copyright-holder "CDHT Bot contributors" -o locales/messages.pot .
	$(BIN)/pybabel update -D messages -i locales/messages.pot -d locales --width 100

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
