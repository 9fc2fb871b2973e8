"""The console's health page and /healthz, served by Flask's test client on a real SQLite file."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from daemon.config import MailboxConfig
from daemon.store import db
from daemon.store.models import MailboxState, utcnow
from tests.conftest import make_config
from tests.webtools import make_console
from web import create_app

MAILBOXES = (MailboxConfig(name="main", host="imap.example.com", user="u", password="p"),
             MailboxConfig(name="backup", host="imap.example.com", user="b", password="p"))


@pytest.fixture
def config(tmp_path):
    """Mail comes in from two IMAP mailboxes only: SMTP is switched off."""
    return dataclasses.replace(make_config(tmp_path, smtp={"enabled": False}), mailbox=MAILBOXES)


def mailbox_row(name: str, status: str = "ok", seen_ago: float = 5, **fields) -> MailboxState:
    return MailboxState.create(name=name, status=status, uidvalidity=1,
                               updated_at=utcnow() - dt.timedelta(seconds=seen_ago), **fields)


def get(config, path: str):
    """One request to a fresh console app; the app closes the connection afterwards."""
    return create_app(config).test_client().get(path)


def test_healthz_is_ok_while_every_mailbox_works(config, database):
    mailbox_row("main")
    mailbox_row("backup")
    response = get(config, "/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert [(box["name"], box["status"], box["stale"]) for box in body["mailboxes"]] == [
        ("main", "ok", False), ("backup", "ok", False)]
    assert all("last_error" not in box for box in body["mailboxes"])


def test_healthz_is_degraded_when_a_mailbox_fails(config, database):
    mailbox_row("main")
    mailbox_row("backup", status="failing", failing_since=utcnow() - dt.timedelta(minutes=20),
                last_error="connection refused")
    response = get(config, "/healthz")
    assert response.status_code == 200  # the mail server's fault: restarting the daemon would not help
    body = response.get_json()
    assert body["status"] == "degraded"
    backup = {box["name"]: box for box in body["mailboxes"]}["backup"]
    assert backup["status"] == "failing" and backup["failing_since"]
    assert "last_error" not in backup  # it names accounts and hosts; the page has no sign-in


def test_healthz_is_degraded_when_a_mailbox_is_not_seen_for_long(config, database):
    mailbox_row("main")
    mailbox_row("backup", seen_ago=2 * 3600)
    body = get(config, "/healthz").get_json()
    assert body["status"] == "degraded"
    assert {box["name"]: box["stale"] for box in body["mailboxes"]} == {"main": False, "backup": True}


def test_the_page_lists_the_mailboxes_and_no_smtp_when_it_is_off(config, database):
    mailbox_row("main", seen_ago=12)
    mailbox_row("backup", status="failing", failing_since=utcnow(), last_error="login as 'b' refused")
    response = get(config, "/health")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "SMTP" not in page and "2525" not in page
    assert "2 IMAP mailboxes" in page
    assert "<td>main</td>" in page and " sec. ago" in page
    assert "<td>backup</td>" in page and "failing since" in page and "patroldesk mailboxes" in page
    assert "refused" not in page


def test_the_page_says_smtp_is_on_and_only_admins_see_where_it_listens(tmp_path, database):
    config = make_config(tmp_path, smtp={"enabled": True, "protocol": "lmtp", "host": "127.0.0.2", "port": 2424})
    anonymous = " ".join(get(config, "/health").get_data(as_text=True).split())
    assert "accepted by LMTP." in anonymous and "2424" not in anonymous and "127.0.0.2" not in anonymous
    assert "IMAP" not in anonymous
    console = make_console(config)
    page = " ".join(console.client("admin").get("/health").get_data(as_text=True).split())
    assert "accepted by LMTP on 127.0.0.2:2424." in page


def test_the_page_says_when_no_mail_can_come_in(tmp_path, database):
    config = make_config(tmp_path, smtp={"enabled": False})
    page = get(config, "/health").get_data(as_text=True)
    assert "No way in for mail is configured" in page and "SMTP on" not in page


def test_an_unreadable_database_is_reported_not_raised(config):
    db.open_database(config)  # a new file with no tables: every query fails
    try:
        response = get(config, "/healthz")
    finally:
        db.database.close()
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "down" and body["database"].startswith("unavailable")
    assert body["mailboxes"] == [{"name": "main", "status": "unknown"}, {"name": "backup", "status": "unknown"}]


UNNAMED = MailboxConfig(host="imap.corp.example", user="helpdesk-login", password="p", folder="Support")


def details_config(tmp_path):
    """An unnamed mailbox (its label would be its login and host), a named one, and SMTP on a set port."""
    config = make_config(tmp_path, smtp={"enabled": True, "host": "127.0.0.3", "port": 2626},
                         support={"addresses": ["help@corp.example"]})
    return dataclasses.replace(config, mailbox=(UNNAMED, MAILBOXES[1]))


SECRETS = ("helpdesk-login", "imap.corp.example", "help@corp.example", "2626", "127.0.0.3", "corp.example")


def test_anonymous_health_shows_no_login_host_address_or_port(tmp_path, database):
    config = details_config(tmp_path)
    mailbox_row(UNNAMED.label, status="failing", failing_since=utcnow(), last_error="helpdesk-login refused")
    for path in ("/healthz", "/health"):
        text = get(config, path).get_data(as_text=True)
        assert not [secret for secret in SECRETS if secret in text], (path, text)
    names = [box["name"] for box in get(config, "/healthz").get_json()["mailboxes"]]
    assert names == ["mailbox 1", "backup"]  # an unnamed mailbox is not named by its account; a name is kept


def test_anonymous_health_names_no_account_when_the_database_is_down(tmp_path):
    config = details_config(tmp_path)
    db.open_database(config)  # a new file with no tables: every query fails
    try:
        response = get(config, "/healthz")
    finally:
        db.database.close()
    assert response.status_code == 503
    assert response.get_json()["mailboxes"] == [{"name": "mailbox 1", "status": "unknown"},
                                                {"name": "backup", "status": "unknown"}]


def test_signed_in_admins_see_the_details_and_agents_do_not(tmp_path, database):
    config = details_config(tmp_path)
    mailbox_row(UNNAMED.label)
    console = make_console(config)
    admin = console.client("admin")
    page = admin.get("/health").get_data(as_text=True)
    assert all(secret in page for secret in ("helpdesk-login@imap.corp.example", "help@corp.example", "2626"))
    boxes = admin.get("/healthz").get_json()["mailboxes"]
    assert (boxes[0]["name"], boxes[0]["host"], boxes[0]["folder"]) == (
        "helpdesk-login@imap.corp.example", "imap.corp.example", "Support")
    agent_page = console.client("agent").get("/health").get_data(as_text=True)
    assert not [secret for secret in SECRETS if secret in agent_page]
