# patroldesk: `make run` to try it, `make test` to prove it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PG_DSN ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: run test bench install install-test catalogues messages services system-packages dovecot postgres axe clean

# The console's translations: the .po files are the source, the .mo files are built here, never committed.
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard web/translations/*/LC_MESSAGES/messages.po))

run: install catalogues
	$(BIN)/patroldesk init
	exec $(BIN)/patroldesk run

test: install-test catalogues services axe
	$(BIN)/python -m pytest -n auto --dist worksteal $(PYTEST_ARGS)

bench: install-test catalogues dovecot
	$(BIN)/python -m bench

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

catalogues: $(CATALOGUES)

web/translations/%/LC_MESSAGES/messages.mo: web/translations/%/LC_MESSAGES/messages.po | $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -i $< -o $@

# After changing the console's strings: gather them and merge them into each language's catalogue.
messages: install
	$(BIN)/pybabel extract -F web/translations/babel.cfg -k lazy_gettext -k N_ --no-location --sort-output --project patroldesk \
	  -o web/translations/messages.pot .
	$(BIN)/pybabel update -i web/translations/messages.pot -d web/translations -D messages --no-fuzzy-matching

# The real servers the suite talks to. PostgreSQL runs on CI machines already;
# start the local cluster if it is installed but stopped. Dovecot (the tests
# start their own instances), Chromium (the console's browser tests) and systemd
# (systemd-analyze checks the service units install-service writes) are
# installed from Debian's packages when missing, with one apt-get update.
services: system-packages postgres

system-packages:
	@missing=""; \
	if ! command -v dovecot >/dev/null && ! test -x /usr/sbin/dovecot; then missing="$$missing dovecot-imapd"; fi; \
	if ! command -v chromium >/dev/null; then missing="$$missing chromium"; fi; \
	if ! command -v ip >/dev/null; then missing="$$missing iproute2"; fi; \
	if ! command -v systemd-analyze >/dev/null; then missing="$$missing systemd"; fi; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing from Debian's packages (the tests use the real programs)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

# axe-core, the accessibility checker the help center's browser test runs in the page: from the npm
# registry into the virtualenv (test tooling only; no page ever loads it).
AXE_VERSION := 4.14.1
AXE := $(VENV)/axe/node_modules/axe-core/axe.min.js
axe: $(AXE)

$(AXE): | $(BIN)/python
	@command -v npm >/dev/null || { echo "installing npm from Debian's packages (for axe-core)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	npm install --silent --no-audit --no-fund --prefix $(VENV)/axe axe-core@$(AXE_VERSION)

dovecot:
	@if ! command -v dovecot >/dev/null && ! test -x /usr/sbin/dovecot; then \
	  echo "installing dovecot-imapd (the IMAP tests run against a real Dovecot)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null; fi

postgres:
	@if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
	  command -v pg_ctlcluster >/dev/null && for v in $$(ls /etc/postgresql 2>/dev/null); do \
	    pg_ctlcluster --skip-systemctl-redirect $$v main start || true; done; fi

clean:
	rm -rf $(VENV) build *.egg-info
