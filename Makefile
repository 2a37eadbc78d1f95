# Kefu. `make run` runs the product on embedded defaults; `make test` runs every test.
# Both set up whatever is missing first; nothing needs installing by hand.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# KB_ENGLISH=1: the app environment with the knowledge base's optional English adaptation stack
# (requirements/kb-english.lock, docs/operations.md), its own virtualenv .venv-english; default: the lean .venv.
ifeq ($(KB_ENGLISH),1)
APP_VENV := .venv-english
else
APP_VENV := .venv
endif
APP_PY   := $(APP_VENV)/bin/python
RASA_BIN := .venv-rasa/bin
export PYTHONPATH := $(CURDIR)
export RASA_TELEMETRY_ENABLED := false

.PHONY: help setup setup-english lock test-english browser widget run shell interactive test-stories test test-rasa-env test-app validate domain faq-nlu model kb db lint clean

help:
	@echo "make run    - set up, train if the data changed, start Kefu (Ctrl-C stops it)"
	@echo "make shell  - talk to the bot in the terminal (rasa shell on the production runtime)"
	@echo "make interactive - rasa interactive on the production runtime"
	@echo "make test-stories - the end-to-end test stories (bot/tests) on the production runtime"
	@echo "make test   - every test: ruff, rasa data validate, pytest (both environments, e2e stories, browser)"
	@echo "make setup  - create .venv (Python 3.11) and .venv-rasa (Python 3.10) from the lock files"
	@echo "               (KB_ENGLISH=1 on any target: .venv-english, with the optional English stack)"
	@echo "make model  - train the Rasa model if its fingerprint changed"
	@echo "make domain - regenerate bot/domain/responses.yml from bot/responses/*.yml"
	@echo "make lint   - ruff and the import contracts (lint-imports)"
	@echo "make lock   - regenerate requirements/*.lock from requirements/*.in (uv, with hashes)"

setup: $(APP_VENV)/.kefu-ready .venv-rasa/.kefu-ready

# Runtime locks (what the images install) first, then the tests' and tools' locks (never in an image).
.venv-rasa/.kefu-ready: requirements/rasa.lock requirements/rasa-dev.lock scripts/ensure-venv
	KEFU_VENV_EXTRA_LOCKS=requirements/rasa-dev.lock \
	  scripts/ensure-venv .venv-rasa 3.10 RASA_PYTHON requirements/rasa.lock
	touch $@

.venv/.kefu-ready: requirements/app.lock requirements/dev.lock scripts/ensure-venv
	KEFU_VENV_EXTRA_LOCKS=requirements/dev.lock \
	  scripts/ensure-venv .venv 3.11 APP_PYTHON requirements/app.lock
	touch $@

# torch==2.13.0 goes in first so that pip takes the machine's local CPU build.
.venv-english/.kefu-ready: requirements/app.lock requirements/dev.lock requirements/kb-english.lock scripts/ensure-venv
	KEFU_VENV_EXTRA_LOCKS="requirements/dev.lock requirements/kb-english.lock" \
	  scripts/ensure-venv .venv-english 3.11 APP_PYTHON requirements/app.lock torch==2.13.0
	touch $@

setup-english: .venv-english/.kefu-ready

# Every requirements/*.lock from its .in file, with sha256 hashes, by the uv that requirements/dev.lock pins;
# the versions a lock pins stay unless its .in file asks for others (docs/operations.md, "Dependencies").
lock: .venv/.kefu-ready
	scripts/lock

# Browser tests drive Debian's chromium (never a browser a tool downloads itself), with CJK and
# emoji fonts so that screenshots show Chinese text rather than boxes. The multi-process cluster
# tests (tests/cluster) put Debian's nginx in front of the replicas, as docker-compose does.
TEST_PACKAGES := chromium fonts-wqy-microhei fonts-noto-color-emoji nginx
browser:
	@missing=$$(for p in $(TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages for the browser and cluster tests: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  case " $$missing " in *" nginx "*) service nginx stop >/dev/null 2>&1 || true;; esac; \
	fi

# The web widget: one self-contained bundle, built with esbuild from webchat/src.
widget: webchat/dist/kefu-widget.js

webchat/dist/kefu-widget.js: $(wildcard webchat/src/*.js) webchat/package-lock.json webchat/build.mjs
	webchat/build.sh

domain: bot/domain/responses.yml

bot/domain/responses.yml: $(wildcard bot/responses/*.yml) kernel/i18n.py | $(APP_VENV)/.kefu-ready
	$(APP_PY) -m kernel.i18n build

# ask_faq training examples taken from the knowledge base's phrasings (knowledge_base/building/nlu_export.py);
# the files are committed, this only rewrites them when the FAQ sources or the other NLU data changed.
faq-nlu: bot/data/nlu/faq_kb.en.yml

bot/data/nlu/faq_kb.en.yml: $(wildcard knowledge_base/faq/*.yml) knowledge_base/building/nlu_export.py \
		$(filter-out $(wildcard bot/data/nlu/faq_kb.*.yml),$(wildcard bot/data/nlu/*.yml)) | $(APP_VENV)/.kefu-ready
	$(APP_PY) -m knowledge_base nlu-export
	@touch $@

model: setup domain faq-nlu
	scripts/train-model

# Rebuilds the FAQ index only when its sources, encoder or settings changed.
kb: setup
	$(APP_PY) -m knowledge_base build

db: setup
	$(APP_PY) -m kernel.migrations upgrade
	$(APP_PY) -m actions.store seed --if-empty

run: setup widget domain model kb db
	$(APP_PY) -m launcher

# Rasa's shell, interactive learning and end-to-end stories on production's runtime (python -m bot.server:
# bot/runtime.py); shell and interactive start the action server for the session (launcher/develop.py).
shell: setup domain model kb db
	$(APP_PY) -m launcher shell

interactive: setup domain model kb db
	$(APP_PY) -m launcher interactive

test-stories: setup domain model kb db
	$(APP_PY) -m pytest -q -p no:cacheprovider tests/e2e/test_rasa_stories.py

validate: setup domain faq-nlu
	$(RASA_BIN)/rasa data validate --config config.yml --domain bot/domain --data bot/data

# Test files marked `pytestmark = pytest.mark.rasa_env` run here, the others in the app environment
# (tests/conftest.py decides at collection).
test-rasa-env: setup
	$(RASA_BIN)/python -m pytest -q -p no:cacheprovider --timeout=300 --timeout-method=thread --durations=10 tests

# Browser tests run in their own pytest process: Playwright's sync API keeps an event loop
# running in the main thread for the whole session, which asyncio-based tests cannot share.
# Beside the main pytest process runs a second line of them, BESIDE_TESTS and then the browser tests: test files
# that start servers of their own and share nothing another test writes (no PostgreSQL, no Redis, no file outside
# their temporary directories; each stack has its own ports and var directory). Both processes spend most of their
# time waiting for servers, so the two cores overlap them (docs/operations.md, "Test suite time"); their output
# follows the main process's. Every server's start-up time goes to var/test-starts.jsonl, summed up at the end
# (tests/start_report.py).
BESIDE_TESTS := tests/e2e/test_rasa_stories.py tests/launcher
test-app: setup
	@mkdir -p var; rm -f var/test-starts.jsonl var/test-beside.log
	@export KEFU_TEST_START_LOG=$(CURDIR)/var/test-starts.jsonl; \
	setsid bash -c '$(APP_PY) -m pytest -q -p no:cacheprovider --durations=10 $(BESIDE_TESTS); first=$$?; \
	  $(APP_PY) -m pytest -q -p no:cacheprovider --durations=10 tests/browser; second=$$?; \
	  [ $$first -eq 0 ] && [ $$second -eq 0 ]' > var/test-beside.log 2>&1 & beside=$$!; \
	trap 'kill -- -$$beside 2>/dev/null' INT TERM; \
	$(APP_PY) -m pytest -q -p no:cacheprovider --durations=25 --ignore=tests/browser \
	  $(addprefix --ignore=,$(BESIDE_TESTS)) tests; main=$$?; \
	wait $$beside; beside_status=$$?; \
	echo "== $(BESIDE_TESTS), then tests/browser (run beside the tests above; status $$beside_status)"; \
	cat var/test-beside.log; \
	$(APP_PY) -m tests.start_report var/test-starts.jsonl || true; \
	[ $$main -eq 0 ] && [ $$beside_status -eq 0 ]

# The optional English stack's own tests, in the environment that has it (skipped in the lean .venv).
test-english: setup-english
	.venv-english/bin/python -m pytest -q -p no:cacheprovider tests/knowledge_base/english

test: setup browser widget domain model kb db
	$(APP_PY) -m kernel.i18n check
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory validate
	$(MAKE) --no-print-directory test-rasa-env
	$(MAKE) --no-print-directory test-app
	$(MAKE) --no-print-directory test-english

# ruff, and the import contracts between Kefu's packages (pyproject.toml [tool.importlinter]).
lint: setup
	$(APP_PY) -m ruff check .
	$(APP_VENV)/bin/lint-imports --no-cache

clean:
	rm -rf models results .pytest_cache webchat/node_modules webchat/dist
