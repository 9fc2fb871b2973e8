"""The console speaks the agent's language; the command line stays English.

The language of a page is the user's own setting, else the browser's
Accept-Language ("no" and "nn" read bokmål), else `[web] language`. Domain
refusals (the SBO note's, a ticket already closed) are said in that language
too, while the same refusal on the command line reads as it always did.
"""
from __future__ import annotations

import dataclasses
import html
import re

import pytest

from daemon import patrol
from daemon.errors import PatroldeskError
from daemon.ingest import pipeline
from daemon.ingest.sources import spool
from daemon.people import accounts
from daemon.store import db
from daemon.store.models import Ticket, User
from tests.conftest import make_config
from tests.corpus import simple_mail
from tests.webtools import make_console, post

SUPPORT = "support@example.org"
NOTE = {"situation": "Åse could not print from the third-floor printer after the update.",
        "behaviour": "Checked the queue, restarted the spooler, reinstalled the vendor's driver.",
        "outcome": "Printing works again: the update had replaced the driver with a generic one.",
        "outcome_kind": "resolved", "tags": "printer", "notify": "1", "status": "solved"}


@pytest.fixture
def desk(tmp_path):
    return _desk(tmp_path)


def _desk(tmp_path, web_language: str = "en"):
    base = make_config(tmp_path, support={"addresses": [SUPPORT]})
    config = dataclasses.replace(base, web=dataclasses.replace(base.web, language=web_language))
    db.open_database(config)
    db.upgrade()
    return config, make_console(config)


def mail_in(config) -> Ticket:
    spool.enqueue(simple_mail(frm="Åse <ase@example.no>", to=SUPPORT, subject="Skriveren virker ikke",
                              body="Hei, skriveren skriver ikke ut."), "test")
    pipeline.drain(config)
    return Ticket.select().order_by(Ticket.id.desc()).get()


def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)">', response.get_data(as_text=True)).group(1)


def speaking(console, username: str, language: str):
    accounts.set_language(User.get(User.username == username), language)
    return console.client(username)


def field_error(page: str, name: str) -> str:
    found = re.search(rf'<span class="error" id="{name}-error">([^<]*)</span>', page)
    assert found, f"no message beside {name}"
    return found.group(1)


# Which language --------------------------------------------------------------------

def test_the_users_setting_wins_over_the_browser(desk):
    config, console = desk
    client = speaking(console, "agent", "ru")
    response = client.get("/tickets", headers={"Accept-Language": "nb-NO,nb;q=0.9,en;q=0.5"})
    assert html_lang(response) == "ru" and "Очередь" in response.get_data(as_text=True)


@pytest.mark.parametrize("header, expected", [
    ("nb-NO,nb;q=0.9,en;q=0.5", "nb"), ("no", "nb"), ("nn-NO,nn;q=0.9", "nb"), ("ru-RU,ru;q=0.9,en;q=0.8", "ru"),
    ("de-DE,fr;q=0.8,ru;q=0.5", "ru"), ("en-GB,en;q=0.9,nb;q=0.8", "en"), ("de-DE,de;q=0.9", "en"), ("", "en"),
])
def test_without_a_setting_the_browser_chooses(desk, header, expected):
    config, console = desk
    client = console.client("agent")
    response = client.get("/tickets", headers={"Accept-Language": header} if header else {})
    assert html_lang(response) == expected


def test_without_either_the_installation_default_is_used(tmp_path):
    config, console = _desk(tmp_path, web_language="nb")
    assert html_lang(console.client().get("/sign-in")) == "nb"
    assert html_lang(console.client().get("/sign-in", headers={"Accept-Language": "ru"})) == "ru"
    assert html_lang(speaking(console, "agent", "en").get("/tickets", headers={"Accept-Language": "ru"})) == "en"


def test_a_user_chooses_their_language_on_their_account_page(desk):
    config, console = desk
    client = console.client("agent")
    page = client.get("/password").get_data(as_text=True)
    for shown in ("English", "Norsk bokmål", "Русский", "Follow the browser"):
        assert shown in page
    response = post(client, "/language", {"language": "nb"})
    assert response.status_code == 302 and User.get(User.username == "agent").language == "nb"
    after = client.get("/password")
    assert html_lang(after) == "nb" and "Konsollen bruker nå språket du valgte." in after.get_data(as_text=True)
    post(client, "/language", {"language": ""})
    assert User.get(User.username == "agent").language == ""
    refused = post(client, "/language", {"language": "de"})
    assert refused.status_code == 302 and User.get(User.username == "agent").language == ""


def test_an_admin_sets_a_users_language_and_only_an_admin(desk):
    config, console = desk
    agent = User.get(User.username == "agent")
    admin = console.client("admin")
    response = post(admin, f"/admin/users/{agent.id}/language", {"language": "ru"})
    assert response.status_code == 302 and User.get_by_id(agent.id).language == "ru"
    refused = post(admin, f"/admin/users/{agent.id}/language", {"language": "xx"})
    assert refused.status_code == 400 and "(or follows the browser), not 'xx'" in html.unescape(
        refused.get_data(as_text=True))
    assert post(console.client("agent2"), f"/admin/users/{agent.id}/language", {"language": "nb"}).status_code == 403
    with pytest.raises(accounts.AccountRefused):
        accounts.set_language(agent, "nb", actor=User.get(User.username == "agent2"))


# What is said -------------------------------------------------------------------------

@pytest.mark.parametrize("language, missing, too_short", [
    ("nb", "mangler: skriv hva kunden sto overfor, i sin sammenheng",
     "for kort (9 tegn, minst 20): skriv hva du gjorde, steg for steg"),
    ("ru", "не заполнено: напишите, с чем столкнулся клиент, в его обстоятельствах",
     "слишком коротко (9 симв., нужно не меньше 20): напишите, что вы сделали, шаг за шагом"),
])
def test_an_sbo_refusal_is_said_in_the_agents_language(desk, language, missing, too_short):
    config, console = desk
    ticket = mail_in(config)
    client = speaking(console, "agent", language)
    response = post(client, f"/tickets/{ticket.number}/close",
                    {**NOTE, "situation": "", "behaviour": "Restarted", "outcome_kind": "maybe"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert field_error(page, "situation") == missing
    assert html.unescape(field_error(page, "behaviour")) == too_short.replace("20", str(config.patrol.min_length))
    assert "'maybe'" in html.unescape(field_error(page, "outcome_kind"))
    assert "missing: write" not in page and "Restarted" in page


def test_a_ticket_already_closed_is_refused_in_the_agents_language(desk):
    config, console = desk
    ticket = mail_in(config)
    client = speaking(console, "agent", "ru")
    assert post(client, f"/tickets/{ticket.number}/close", NOTE).status_code == 302
    again = patrol.Note(**{key: NOTE[key] for key in ("situation", "behaviour", "outcome", "outcome_kind")})
    with pytest.raises(PatroldeskError) as refused:  # what the CLI prints, unchanged
        patrol.close(config, Ticket.get_by_id(ticket.id), again, None)
    assert str(refused.value).startswith(f"ticket #{ticket.number} is already solved; a customer's reply")
    from web.i18n import said
    with console.app.test_request_context(headers={"Accept-Language": "nb"}):
        assert said(refused.value).startswith(f"sak #{ticket.number} er allerede løst; et svar fra kunden")
    with console.app.test_request_context(headers={"Accept-Language": "ru"}):
        assert said(refused.value).startswith(f"обращение №{ticket.number} уже в статусе «решено»")


def test_error_pages_flashes_and_times_follow_the_language(desk):
    config, console = desk
    ticket = mail_in(config)
    client = speaking(console, "agent", "nb")
    missing = client.get("/tickets/99999")
    assert missing.status_code == 404 and "Den siden finnes ikke her." in missing.get_data(as_text=True)
    post(client, f"/tickets/{ticket.number}/notes", {"text": "Ringte kunden."})
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert "Notatet er lagt til." in page and "Internt notat av" in page
    assert re.search(r"for \d+ (sek|min) siden", page), "times are said in bokmål"
    ru = speaking(console, "agent2", "ru").get("/tickets").get_data(as_text=True)
    assert re.search(r"\d+ (сек|мин)\. назад", ru) and "Скриверен" not in ru


def test_the_password_rule_is_said_in_the_agents_language(desk):
    config, console = desk
    client = speaking(console, "agent", "ru")
    from tests.webtools import PASSWORD
    response = post(client, "/password", {"current": PASSWORD, "new": "short", "again": "short"})
    assert "в пароле должно быть не меньше 10 символов" in response.get_data(as_text=True)
    guessable = post(client, "/password", {"current": PASSWORD, "new": "password123", "again": "password123"})
    said = html.unescape(guessable.get_data(as_text=True))
    assert "пароль должен быть сложнее (надёжность 0 из 4, нужно 3): Это очень распространённый пароль." in said


# The command line ------------------------------------------------------------------

def test_the_command_line_stays_english_whatever_the_locale(tmp_path):
    from tests.test_cli import cli
    workdir = tmp_path
    (workdir / "patroldesk.toml").write_text(
        '[database]\nurl = "sqlite:///var/desk.db"\n[smtp]\nport = 0\n[web]\nport = 0\n'
        '[support]\naddresses = ["support@example.com"]\n')
    english = {"LANG": "ru_RU.UTF-8", "LC_ALL": "ru_RU.UTF-8", "LANGUAGE": "ru"}
    cli(workdir, "init", env_extra=english)
    short = cli(workdir, "user", "add", "kari", "--password-stdin", input="short\n", check=False, env_extra=english)
    assert short.returncode == 1 and "a password needs at least 10 characters" in short.stderr
    cli(workdir, "user", "add", "kari", "--password-stdin", input="long enough pw 1\n", env_extra=english)
    said = cli(workdir, "user", "language", "kari", "nb", env_extra=english)
    assert said.stdout == "the console speaks nb to 'kari'\n"
    back = cli(workdir, "user", "language", "kari", "browser", env_extra=english)
    assert back.stdout == "the console speaks the browser's language to 'kari'\n"
    wrong = cli(workdir, "user", "language", "kari", "de", check=False, env_extra=english)
    assert wrong.returncode != 0 and "de" in wrong.stderr
