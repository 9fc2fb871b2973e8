# patroldesk: `make run` to try it, `make test` to prove it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PG_DSN ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: run test bench install install-test services system-packages dovecot postgres clean

run: install
	$(BIN)/patroldesk init
	exec $(BIN)/patroldesk run

test: install-test services
	$(BIN)/python -m pytest -n auto --dist worksteal $(PYTEST_ARGS)

bench: install-test dovecot
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

# The real servers the suite talks to. PostgreSQL runs on CI machines already;
# start the local cluster if it is installed but stopped. Dovecot (the tests
# start their own instances) and Chromium (the console's browser tests) are
# installed from Debian's packages when missing, with one apt-get update.
services: system-packages postgres

system-packages:
	@missing=""; \
	if ! command -v dovecot >/dev/null && ! test -x /usr/sbin/dovecot; then missing="$$missing dovecot-imapd"; fi; \
	if ! command -v chromium >/dev/null; then missing="$$missing chromium"; fi; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing from Debian's packages (the tests use the real programs)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

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
