"""The help center in a real browser (Debian's headless Chromium), against the running daemon.

An anonymous visitor on a phone, with script turned off, searches in
Norwegian, opens the article, switches to its Russian variant, answers "no"
with a comment, and writes to support; the ticket appears with what they
searched for and read. A draft's address answers 404. The contact form refuses
a filled hidden field and the eleventh post in a minute. axe-core (from the
npm registry, into the test tooling only) finds no WCAG 2.1 A/AA violation on
the home, search, article and contact pages.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from daemon import knowledge
from daemon.knowledge import ArticleText
from daemon.people import users
from daemon.store.models import ArticleFeedback, Inbound, Ticket
from tests.conftest import make_config, running_service, wait_for
from tests.test_help import PRINTER_NB, PRINTER_RU, SCANNER_NB

AXE = Path(__file__).resolve().parent.parent / ".venv" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
PASSWORD = "a browser test password"


@pytest.fixture
def help_center(tmp_path):
    base = make_config(tmp_path, support={"addresses": ["support@example.org"], "name": "Nordlys"})
    config = dataclasses.replace(base, web=dataclasses.replace(base.web, enabled=True, port=0))
    with running_service(config) as service:
        agent = users.create_user("kari", "agent", PASSWORD)
        reviewer = users.create_user("olga", "reviewer", PASSWORD)
        printer = knowledge.create_article(PRINTER_NB, agent, language="nb")
        knowledge.add_variant(printer, "ru", PRINTER_RU, agent)
        for language in ("nb", "ru"):
            knowledge.transition(printer, "validate", reviewer, language=language)
            knowledge.transition(printer, "publish", reviewer, language=language)
        knowledge.create_article(ArticleText(title="Fakturaen har feil MVA", issue="MVA er feil på fakturaen.",
                                             environment="", resolution="Vi sender en ny faktura.", cause="",
                                             keywords=("faktura",)), agent, language="nb")
        draft = knowledge.create_article(SCANNER_NB, agent, language="nb")
        yield f"http://127.0.0.1:{service.web.port}", printer, draft


def test_a_visitor_without_script_reads_answers_and_writes_to_support(browser, help_center, tmp_path):
    base, printer, draft = help_center
    context = browser.new_context(java_script_enabled=False, viewport=PHONE, locale="nb-NO")
    page = context.new_page()
    home = page.goto(f"{base}/help/")
    assert home.status == 200 and page.get_attribute("html", "lang") == "nb"
    page.fill("input[name=q]", "skriveren er frakoblet")
    page.click("button[type=submit]")
    page.wait_for_url("**/help/search?**")
    assert "1 artikkel funnet" in page.inner_text("main")
    page.click("main ul.articles a")
    page.wait_for_url(f"**/help/nb/{printer.id}-skriveren-*")
    assert "Fjern skriveren og legg den til igjen" in page.inner_text("article")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(tmp_path / "help-article-nb.png"), full_page=True)

    page.click("nav.variants a[hreflang=ru]")
    page.wait_for_url(f"**/help/ru/{printer.id}-*")
    assert page.get_attribute("html", "lang") == "ru" and "Удалите принтер" in page.inner_text("article")
    page.check("input[name=solved][value=no]")
    page.fill("textarea[name=comment]", "У меня нет такого пункта в Параметрах")
    page.click("#answer button[type=submit]")
    page.wait_for_selector("#answer [role=status]")
    feedback = ArticleFeedback.get()
    assert (feedback.language, feedback.helpful, feedback.comment) == (
        "ru", False, "У меня нет такого пункта в Параметрах")

    page.click("#answer a")  # "Write to support", the article's title as the subject
    page.fill("input[name=name]", "Åse Berg")
    page.fill("input[name=address]", "ase@example.no")
    page.fill("textarea[name=text]", "Принтер всё ещё отключён.")
    page.click("form.contact button[type=submit]")
    page.wait_for_selector("text=ase@example.no")
    ticket = wait_for(lambda: Ticket.get_or_none(Ticket.subject == PRINTER_RU.title), timeout=15)
    detail = json.loads(Inbound.get(Inbound.origin == "help").origin_detail)["trail"]
    assert detail["searches"] == [["skriveren er frakoblet", 1]]
    assert [item[:2] for item in detail["read"]] == [[printer.id, "nb"], [printer.id, "ru"]]
    assert ticket.requester.email == "ase@example.no"

    missing = page.goto(f"{base}/help/nb/{draft.id}")
    assert missing.status == 404
    context.close()


def test_the_contact_form_refuses_a_filled_hidden_field_and_the_eleventh_post(browser, help_center):
    base, _, _ = help_center
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    statuses = []
    for n in range(11):
        page.goto(f"{base}/help/contact?lang=en")
        page.fill("input[name=name]", "Bot")
        page.fill("input[name=address]", "bot@example.net")
        page.fill("input[name=subject]", f"Offer {n}")
        page.fill("textarea[name=text]", "Buy now")
        if n == 0:
            page.fill("input[name=website]", "http://spam.example")  # hidden from people, not from bots
        with page.expect_response(lambda r: r.request.method == "POST") as posted:
            page.click("form.contact button[type=submit]")
        statuses.append(posted.value.status)
    assert statuses[0] == 400 and statuses[1:10] == [200] * 9 and statuses[10] == 429
    assert "Wait a minute" in page.inner_text("main")
    assert Inbound.select().where(Inbound.origin == "help").count() == 9
    context.close()


def test_axe_finds_no_accessibility_violation_on_the_help_centers_pages(browser, help_center):
    if not AXE.exists():
        pytest.fail("axe-core is not installed: run make test, which installs it", pytrace=False)
    base, printer, _ = help_center
    context = browser.new_context(bypass_csp=True, viewport=PHONE)  # axe is injected; the pages load no script
    page = context.new_page()
    found = {}
    for name, path in (("home", "/help/?lang=nb"), ("search", "/help/search?q=skriver&lang=nb"),
                       ("article", f"/help/nb/{printer.id}"), ("contact", "/help/contact?lang=ru"),
                       ("missing", "/help/en/999")):
        response = page.goto(base + path)
        assert len(response.body()) < 100_000, name
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']})")
        found[name] = [(v["id"], [n["target"] for n in v["nodes"]]) for v in result["violations"]]
        assert result["passes"], name  # axe ran its checks
    assert found == {name: [] for name in found}
    context.close()
