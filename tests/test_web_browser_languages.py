"""Every console page in English, Norwegian bokmål and Russian, in headless Chromium.

An admin opens each page three times: with English as their own setting,
with bokmål as their own setting (the browser asking for English), and with
no setting and a browser that asks for Russian. Each time `<html lang>` must
name the language, and no heading, navigation link, table header, field
label, button, summary or term may be left in English where the catalogue
has its translation. The English pages prove the check is looking: their
headings and navigation are exactly those English words. A screenshot of
every page is saved in the test's temporary directory.
"""
from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from daemon.ingest import pipeline
from daemon.ingest.sources import spool
from daemon.outbound import replies
from daemon.patrol import logbook as patrol, policies
from daemon.people import accounts
from daemon.store.models import Inbound, PatrolReport, Policy, Ticket, User
from tests.browser import Watch, served, sign_in
from tests.corpus import simple_mail
from tests.test_catalogues import TRANSLATIONS
from tests.webtools import PASSWORD, make_console

SUPPORT = "support@example.org"
NOTE = patrol.Note(situation="Åse could not print from the third-floor printer after the update.",
                   behaviour="Checked the queue, restarted the spooler, reinstalled the vendor's driver.",
                   outcome="Printing works again: the update had replaced the driver with a generic one.",
                   outcome_kind="resolved", tags=("printer",))
# The words of the interface, as opposed to what people wrote (subjects, notes, names).
INTERFACE = "header nav a, h1, h2, h3, th, .label, button, summary, legend, dt, option"
SETTINGS = {"en": ("en", "en-US"), "nb": ("nb", "en-US"), "ru": ("", "ru-RU")}  # user setting, browser locale


@pytest.fixture
def desk(tmp_path, database):
    from tests.conftest import make_config
    config = make_config(tmp_path, support={"addresses": [SUPPORT]})
    console = make_console(config)
    for subject in ("Skriveren virker ikke", "Принтер не печатает"):
        spool.enqueue(simple_mail(frm="Åse <ase@example.no>", to=SUPPORT, subject=subject, body="Hei.",
                                  message_id=f"<{len(subject)}@example.no>"), "test")
    spool.enqueue(simple_mail(frm="Åse <ase@example.no>", to=SUPPORT, subject="Skriveren virker ikke", body="Hei.",
                              message_id="<20@example.no>"), "test")  # the same mail again: a duplicate
    pipeline.drain(config)
    held = spool.enqueue(simple_mail(frm="x@example.no", to=SUPPORT, subject="?", body="?"), "test")
    Inbound.update(state="quarantined", reason="the test put it here").where(Inbound.id == held.id).execute()
    closed = Ticket.get(Ticket.subject == "Принтер не печатает")
    admin = User.get(User.username == "admin")
    report = patrol.close(config, closed, NOTE, admin, notify=False)
    replies.save_template(config, "printer", "About your printer", "Hello {{ customer.name }},\n\n{{ body }}\n",
                          user=admin)
    policies.save_policy("big-spenders-first", "customer.tickets >= 3", "priority:high", "They pay", user=admin)
    return config, console, report


def pages(desk) -> dict[str, str]:
    config, console, report = desk
    open_ticket = Ticket.get(Ticket.subject == "Skriveren virker ikke")
    quarantined = Inbound.get(Inbound.state == "quarantined")
    agent = User.get(User.username == "agent")
    found = {
        "queue": "/tickets", "ticket": f"/tickets/{open_ticket.number}",
        "closed": f"/tickets/{Ticket.get_by_id(report.ticket_id).number}",
        "patrol-log": "/patrol/", "patrol-report": f"/patrol/{report.id}", "reports": "/reports/",
        "admin": "/admin/", "users": "/admin/users", "user": f"/admin/users/{agent.id}", "user-new": "/admin/users/new",
        "templates": "/admin/templates", "template": "/admin/templates/printer", "template-new": "/admin/templates/new",
        "builtin": "/admin/templates/acknowledgement", "policies": "/admin/policies",
        "policy": f"/admin/policies/{Policy.get().id}", "policy-new": "/admin/policies/new",
        "policy-try": f"/admin/policies/try?ticket={open_ticket.number}", "quarantine": "/spool/",
        "discarded": "/spool/?state=discarded", "account": "/password", "health": "/health",
        "spool-mail": f"/spool/{quarantined.id}", "not-found": "/tickets/99999",
        "kb": "/kb/", "kb-review": "/kb/review",
    }
    return found


def english_left(language: str) -> set[str]:
    """The English strings the catalogue says differently in `language`."""
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalogue = read_po(po, locale=language)
    return {message.id for message in catalogue
            if message.id and isinstance(message.id, str) and "%" not in message.id and message.string
            and message.string != message.id}


def interface_texts(page) -> list[str]:
    # The options of a template, assignee or agent list are names, not words; code is code.
    texts = page.eval_on_selector_all(INTERFACE, """nodes => nodes.filter(n => !(n.tagName === "OPTION"
        && ["template", "assignee", "agent"].includes(n.parentElement.name))
        && !(n.firstElementChild && n.firstElementChild.tagName === "CODE"
             && n.innerText.trim() === n.firstElementChild.innerText.trim())).map(n => n.innerText)""")
    return [" ".join(text.split()).strip(" ←→") for text in texts if text and text.strip()]


def test_every_page_speaks_the_admins_language(browser, desk, tmp_path):
    config, console, report = desk
    admin = User.get(User.username == "admin")
    urls = pages(desk)
    seen: dict[str, dict[str, list[str]]] = {}
    with served(console.app) as base:
        for language, (setting, locale) in SETTINGS.items():
            accounts.set_language(admin, setting)
            context = browser.new_context(locale=locale)
            page = context.new_page()
            watch = Watch(page)
            sign_in(page, base, "admin", PASSWORD)
            seen[language] = {}
            for name, path in urls.items():
                response = page.goto(base + path)
                assert response.status == (404 if name == "not-found" else 200), (language, name, response.status)
                assert page.evaluate("document.documentElement.lang") == language, (language, name)
                seen[language][name] = interface_texts(page)
                page.screenshot(path=str(tmp_path / f"{language}-{name}.png"), full_page=True)
            assert not watch.errors and not watch.refused_scripts and not watch.refused_styles, watch.__dict__
            context.close()
        anonymous = browser.new_context(locale="ru-RU").new_page()
        anonymous.goto(f"{base}/sign-in")
        assert anonymous.evaluate("document.documentElement.lang") == "ru"
        assert anonymous.get_by_role("button", name="Войти").count() == 1

    nav = ["Queue", "Knowledge", "Patrol log", "Article review", "Reports", "Admin"]
    assert seen["en"]["queue"][:len(nav)] == nav  # the check below looks where the English is
    usernames = {name for (name,) in User.select(User.username).tuples()}  # people, not words: "admin"
    for language in ("nb", "ru"):
        english = english_left(language) - usernames
        for name, texts in seen[language].items():
            # Knowledge pages carry their own strings (web/knowledge.py); the navigation is the console's.
            checked = texts[:len(nav)] if name.startswith("kb") else texts
            left = sorted({text for text in checked if text in english})
            assert not left, f"{language} {name} ({urls[name]}) still in English: {left}"
            assert seen[language][name][:len(nav)] != nav, (language, name)
        headings = {name: [t for t in texts if t in english] for name, texts in seen["en"].items()}
        assert any(headings.values())
    assert re.search(r"Очередь", " ".join(seen["ru"]["queue"]))
    assert "Kø" in seen["nb"]["queue"]
    assert PatrolReport.select().count() == 1
