"""Fixtures that start real things: SQLite files, PostgreSQL databases, the SMTP listener.

Servers listen on 127.0.0.1, on a free port the kernel picks. Nothing here
sleeps to wait for a condition: `wait_for` polls with a deadline.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import time
import uuid
from pathlib import Path

import pytest

from daemon.config import Config, load_config
from daemon.store import db

PG_DSN = os.environ.get("PATROLDESK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def make_config(tmp_path: Path, url: str | None = None, **sections) -> Config:
    """The embedded defaults, moved into tmp_path, with sections overridden by dicts."""
    base = load_config(None, {})
    changes = {
        "database": dataclasses.replace(base.database, url=url or f"sqlite:///{tmp_path}/patroldesk.db"),
        "paths": dataclasses.replace(base.paths, var=str(tmp_path / "var")),
        "smtp": dataclasses.replace(base.smtp, port=0),
        "web": dataclasses.replace(base.web, enabled=False, port=0),
    }
    for name, values in sections.items():
        changes[name] = dataclasses.replace(changes.get(name, getattr(base, name)), **values)
    return dataclasses.replace(base, **changes)


@pytest.fixture
def postgres_url():
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    import psycopg2
    name = f"patroldesk_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg2.connect(PG_DSN, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_DSN} (set PATROLDESK_TEST_PG): {exc}".strip())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    base = PG_DSN.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    if not db.database.is_closed() and not db.is_sqlite():
        db.database.close()
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request, tmp_path):
    """Run the test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/patroldesk.db"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def config(tmp_path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
def database(config):
    """The configured database, opened and upgraded to the current schema."""
    handle = db.open_database(config)
    db.upgrade()
    yield handle
    handle.close()


@contextlib.contextmanager
def running_service(config: Config):
    """The daemon's service (listener, worker, scheduler) on an upgraded database."""
    from daemon.service import Service
    db.open_database(config)
    db.upgrade()
    service = Service(config)
    service.start()
    try:
        yield service
    finally:
        service.stop()
        db.database.close()


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02):
    """Poll until predicate() is truthy; return its value or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {predicate}")
        time.sleep(interval)


# A real Dovecot IMAP server (tests/dovecot.py). One server serves the whole run;
# each test gets its own user, so no test sees another's mail.

@pytest.fixture(scope="session")
def dovecot_server(tmp_path_factory):
    """The session's Dovecot on 127.0.0.1 and a free port, stopped at the end of the run."""
    from tests.dovecot import dovecot_binary, running_dovecot
    if dovecot_binary() is None:
        pytest.fail("dovecot is not installed: run make test, which installs dovecot-imapd", pytrace=False)
    with running_dovecot(tmp_path_factory.mktemp("dovecot")) as server:
        yield server


@pytest.fixture
def dovecot(dovecot_server):
    """The session's Dovecot, started again if an earlier test stopped it."""
    if not dovecot_server.running:
        dovecot_server.start()
    return dovecot_server


@pytest.fixture
def imap_account(dovecot):
    """A new user with an empty mailbox on the session's Dovecot."""
    return dovecot.add_user()


# The console ------------------------------------------------------------------

@pytest.fixture
def console(config, database):
    """The console app and one account per role, on the test's SQLite database."""
    from tests import webtools
    return webtools.make_console(config)


@pytest.fixture
def console_on(tmp_path, backend_url):
    """The console on SQLite and on PostgreSQL."""
    from tests import webtools
    config = make_config(tmp_path, backend_url)
    handle = db.open_database(config)
    db.upgrade()
    yield webtools.make_console(config)
    handle.close()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by Playwright (which downloads no browser of its own)."""
    from playwright.sync_api import sync_playwright

    from tests.browser import FLAGS, chromium_path
    path = chromium_path()
    if path is None:
        pytest.fail("chromium is not installed: run make test, which installs it", pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=FLAGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def relay():
    """A real SMTP relay on loopback that records what it accepts (tests/relay.py)."""
    from tests.relay import Relay
    server = Relay()
    server.start()
    yield server
    server.stop()
