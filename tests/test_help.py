"""The public help center: published variants only, addresses, language, search that feeds the gaps,
"Did this solve it?", the contact form through the pipeline, limits, host and switch.
"""
from __future__ import annotations

import dataclasses
import re

import pytest

from daemon import knowledge
from daemon.ingest import pipeline
from daemon.knowledge import ArticleText, figures, published
from daemon.store.models import ArticleFeedback, Inbound, Outgoing, SearchLog, Ticket
from tests.conftest import make_config
from tests.webtools import make_console, sign_in

PRINTER_NB = ArticleText(title="Skriveren viser frakoblet etter Windows-oppdateringen",
                         issue="Skriveren står som frakoblet etter oppdateringen.", environment="Windows 11",
                         resolution="1. Åpne Innstillinger.\n2. Fjern skriveren og legg den til igjen.", cause="",
                         keywords=("skriver", "frakoblet"))
PRINTER_RU = ArticleText(title="Принтер отключён после обновления Windows",
                         issue="После обновления принтер показывает «отключён».", environment="Windows 11",
                         resolution="1. Откройте Параметры.\n2. Удалите принтер и добавьте его снова.", cause="",
                         keywords=("принтер",))
SCANNER_NB = ArticleText(title="Skanneren sender ikke e-post", issue="Skanneren sender ikke skannede sider.",
                         environment="", resolution="Sett SMTP-tjeneren i skannerens meny.", cause="",
                         keywords=("skanner",))
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def desk(console):
    """The console with a printer article published in Norwegian and Russian (an English draft variant
    beside them) and a scanner article that is only a draft."""
    agent, reviewer = console.people["agent"], console.people["reviewer"]
    printer = knowledge.create_article(PRINTER_NB, agent, language="nb")
    knowledge.add_variant(printer, "ru", PRINTER_RU, agent)
    knowledge.add_variant(printer, "en", dataclasses.replace(
        PRINTER_RU, title="Printer shows offline after the Windows update", issue="The printer says offline.",
        resolution="Remove the printer and add it again.", keywords=("printer",)), agent)
    for language in ("nb", "ru"):
        knowledge.transition(printer, "validate", reviewer, language=language)
        knowledge.transition(printer, "publish", reviewer, language=language)
    scanner = knowledge.create_article(SCANNER_NB, agent, language="nb")
    return console, printer, scanner


def page_of(article, language: str) -> str:
    return f"/help/{language}/{article.id}"


def follow(client, path: str, **kwargs):
    response = client.get(path, **kwargs)
    while response.status_code in (301, 302):
        response = client.get(response.headers["Location"], **kwargs)
    return response


def token_of(response) -> str:
    return TOKEN.search(response.get_data(as_text=True)).group(1)


# Pages ----------------------------------------------------------------------------------

def test_home_search_article_and_answer_on_sqlite_and_postgresql(console_on):
    agent, reviewer = console_on.people["agent"], console_on.people["reviewer"]
    printer = knowledge.create_article(PRINTER_NB, agent, language="nb")
    for action in ("validate", "publish"):
        knowledge.transition(printer, action, reviewer)
    client = console_on.client()
    assert f'href="/help/nb/{printer.id}-skriveren' in client.get("/help/?lang=nb").get_data(as_text=True)
    found = client.get("/help/search?q=skriveren&lang=nb").get_data(as_text=True)
    assert f'href="/help/nb/{printer.id}-skriveren' in found
    page = follow(client, page_of(printer, "nb"))
    assert page.status_code == 200 and SearchLog.get().used_article_id == printer.id
    client.post(f"/help/nb/{printer.id}/answer", data={"csrf_token": token_of(page), "solved": "yes"})
    assert figures.self_service()["yes"] == 1
    dashboard = console_on.client("reviewer").get("/reports/").get_data(as_text=True)
    shown = dashboard.split('id="self-service"')[1].split("</figure>")[0]
    assert '<td class="num">1</td><td class="num">0</td><td class="num">100</td>' in shown.replace("\n", "")


def test_only_published_variants_have_pages_and_everything_else_answers_404(desk):
    console, printer, scanner = desk
    client = console.client()
    for language in ("nb", "ru"):
        assert follow(client, page_of(printer, language)).status_code == 200
    assert follow(client, page_of(printer, "en")).status_code == 404  # a draft variant of a published article
    assert follow(client, page_of(scanner, "nb")).status_code == 404  # a draft article
    knowledge.transition(scanner, "validate", console.people["reviewer"])
    assert follow(client, page_of(scanner, "nb")).status_code == 404  # validated, not published
    knowledge.transition(printer, "unpublish", console.people["reviewer"], language="ru")
    assert follow(client, page_of(printer, "ru")).status_code == 404
    knowledge.transition(printer, "archive", console.people["reviewer"])
    missing = follow(client, page_of(printer, "nb"))
    assert missing.status_code == 404 and "Denne siden finnes ikke" in missing.get_data(as_text=True)
    assert printer.title not in client.get("/help/?lang=nb").get_data(as_text=True)


def test_an_address_names_language_and_article_and_other_words_lead_to_it(desk):
    console, printer, _ = desk
    client = console.client()
    moved = client.get(f"/help/nb/{printer.id}-an-old-title")
    assert moved.status_code == 301
    assert moved.headers["Location"].endswith(f"/help/nb/{printer.id}-skriveren-viser-frakoblet-etter-windows-"
                                              "oppdateringen")
    page = client.get(moved.headers["Location"])
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "<h1>Skriveren viser frakoblet" in text
    assert f'href="/help/ru/{printer.id}-' in text and 'hreflang="ru"' in text  # the switch to the Russian variant
    assert 'lang="nb"' in text and "<script" not in text
    assert page.headers["Cache-Control"] == "private, max-age=300" and page.headers["Last-Modified"]
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert len(page.data) < 100_000


def test_the_page_speaks_the_language_of_its_address_then_the_browser_then_the_default(desk):
    console, printer, _ = desk
    client = console.client()
    assert '<html lang="ru">' in follow(client, page_of(printer, "ru")).get_data(as_text=True)
    assert '<html lang="nb">' in client.get("/help/?lang=nb").get_data(as_text=True)
    assert '<html lang="nb">' in client.get("/help/", headers={"Accept-Language": "nb-NO,nb;q=0.9"}).get_data(
        as_text=True)
    assert '<html lang="en">' in client.get("/help/").get_data(as_text=True)
    home = client.get("/help/?lang=ru").get_data(as_text=True)
    assert "Принтер отключён после обновления Windows" in home  # the Russian variant, for a Russian reader


# Search ---------------------------------------------------------------------------------

def test_search_finds_published_variants_only_and_is_logged_like_an_agents_without_who(desk):
    console, printer, scanner = desk
    client = console.client()
    found = client.get("/help/search?q=skriver+frakoblet&lang=nb").get_data(as_text=True)
    assert f'href="/help/nb/{printer.id}-skriveren' in found
    nothing = client.get("/help/search?q=skanner+e-post&lang=nb").get_data(as_text=True)
    assert "0 artikler funnet" in nothing and f"/help/nb/{scanner.id}" not in nothing
    client.get("/help/search?q=skanneren+e-post&lang=nb")
    logged = list(SearchLog.select().order_by(SearchLog.id))
    assert [(s.origin, s.user_id, s.ticket_id) for s in logged] == [("help", None, None)] * 3
    assert [s.results for s in logged] == [1, 0, 0]
    assert any("skann" in gap.words for gap in figures.gaps())  # what customers could not find is a gap


def test_opening_an_article_from_the_results_counts_the_search_as_used(desk):
    console, printer, _ = desk
    client = console.client()
    client.get("/help/search?q=skriver+frakoblet&lang=nb")
    follow(client, page_of(printer, "nb"))
    assert SearchLog.get().used_article_id == printer.id


# Answers ----------------------------------------------------------------------------------

def test_answers_count_per_variant_and_show_in_the_knowledge_figures(desk):
    console, printer, _ = desk
    client = console.client()
    page = follow(client, page_of(printer, "nb"))
    for solved, comment in (("yes", ""), ("no", "Skriveren finnes ikke i listen")):
        response = client.post(f"/help/nb/{printer.id}/answer", data={"csrf_token": token_of(page),
                                                                     "solved": solved, "comment": comment})
        assert response.status_code == 302 and f"answered={solved}" in response.headers["Location"]
    ru = follow(client, page_of(printer, "ru"))
    client.post(f"/help/ru/{printer.id}/answer", data={"csrf_token": token_of(ru), "solved": "yes"})
    answers = figures.self_service()
    assert (answers["yes"], answers["no"], answers["success_rate"]) == (2, 1, 0.667)
    assert {(r["language"], r["yes"], r["no"]) for r in answers["variants"]} == {("nb", 1, 1), ("ru", 1, 0)}
    shown = console.client("reviewer").get(f"/kb/{printer.id}").get_data(as_text=True)
    assert "Did this solve it? 2 yes, 1 no." in shown and "Skriveren finnes ikke i listen" in shown
    refused = client.post(f"/help/nb/{printer.id}/answer", data={"csrf_token": token_of(page)})
    assert refused.status_code == 400 and "Velg ja eller nei." in refused.get_data(as_text=True)
    assert ArticleFeedback.select().count() == 3


def test_an_answer_without_the_form_token_is_refused(desk):
    console, printer, _ = desk
    response = console.client().post(f"/help/nb/{printer.id}/answer", data={"solved": "yes"})
    assert response.status_code == 400 and not ArticleFeedback.select().exists()


def test_no_answer_is_taken_for_what_is_not_published(desk):
    console, printer, scanner = desk
    client = console.client()
    page = follow(client, page_of(printer, "nb"))
    response = client.post(f"/help/nb/{scanner.id}/answer", data={"csrf_token": token_of(page), "solved": "no"})
    assert response.status_code == 404 and not ArticleFeedback.select().exists()


# Still need help --------------------------------------------------------------------------

def contact(client, language: str = "nb", **fields):
    form = client.get(f"/help/contact?lang={language}")
    data = {"name": "Åse Berg", "address": "ase@example.no", "subject": "Skriveren er frakoblet",
            "text": "Jeg har prøvd artikkelen, men skriveren er fortsatt frakoblet.", "website": "", **fields}
    return client.post(f"/help/contact?lang={language}", data={"csrf_token": token_of(form), **data})


def test_the_contact_form_becomes_a_ticket_through_the_pipeline_with_what_the_visitor_saw(desk, config):
    console, printer, _ = desk
    client = console.client()
    client.get("/help/search?q=skriver+frakoblet&lang=nb")
    client.get("/help/search?q=skanner&lang=nb")
    follow(client, page_of(printer, "nb"))
    sent = contact(client)
    assert sent.status_code == 200 and "ase@example.no" in sent.get_data(as_text=True)
    (spooled,) = Inbound.select()
    assert spooled.origin == "help" and spooled.mail_from == "ase@example.no"
    (result,) = pipeline.drain(config)
    assert result.outcome == "created"
    ticket = Ticket.by_number(result.ticket)
    assert ticket.subject == "Skriveren er frakoblet" and ticket.requester.email == "ase@example.no"
    assert ticket.requester.name == "Åse Berg" and ticket.requester.language == "nb"
    acknowledgement = Outgoing.get(Outgoing.ticket == ticket.id)
    assert acknowledgement.kind == "acknowledgement" and "ase@example.no" in acknowledgement.recipients
    agent = console.client("agent")
    page = agent.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert "Sent from the help center" in page  # said in the agent's language, not the visitor's
    assert "«skriver frakoblet» <span class=\"hint\">(1 found)" in page and "«skanner»" in page
    assert f'href="/kb/{printer.id}?language=nb"' in page
    assert "help_trail" not in contact(client).get_data(as_text=True)  # a second form starts a new trail


@pytest.mark.parametrize("page, text, language", [
    ("nb", "Skanneren sender ikke e-post etter at vi byttet passord.", "nb"),  # read alone: Danish
    ("en", "Сканер перестал отправлять письма после смены пароля на почтовом сервере компании.", "ru"),
])
def test_the_form_is_in_the_language_the_visitor_read_unless_the_text_surely_is_not(desk, config, page, text,
                                                                                     language):
    console, _, _ = desk
    assert contact(console.client(), page, text=text).status_code == 200
    (result,) = pipeline.drain(config)
    ticket = Ticket.by_number(result.ticket)
    assert ticket.requester.language == language
    assert Outgoing.get(Outgoing.ticket == ticket.id).language == language


def test_a_bad_field_is_named_and_everything_typed_is_kept(desk):
    console, _, _ = desk
    response = contact(console.client(), address="ase at example", text="")
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="address-error"' in text and "ikke en e-postadresse" in text and 'id="text-error"' in text
    assert 'value="ase at example"' in text and 'value="Åse Berg"' in text
    assert not Inbound.select().exists()


def test_a_filled_hidden_field_is_refused_and_nothing_is_spooled(desk):
    console, _, _ = desk
    response = contact(console.client(), website="http://spam.example")
    assert response.status_code == 400 and "et felt som skal stå tomt" in response.get_data(as_text=True)
    assert not Inbound.select().exists()


def test_the_eleventh_post_in_a_minute_from_one_address_is_refused(console_on):
    client = console_on.client()
    statuses = [contact(client, text=f"Melding nummer {n}").status_code for n in range(11)]
    assert statuses == [200] * 10 + [429]
    assert Inbound.select().count() == 10
    other = console_on.app.test_client()
    other.environ_base["REMOTE_ADDR"] = "127.0.0.9"
    assert contact(other).status_code == 200  # another client has its own count


# Where it is served ---------------------------------------------------------------------------

def test_turned_off_the_help_center_is_not_served_and_articles_have_no_address(tmp_path, database, config):
    off = dataclasses.replace(config, help=dataclasses.replace(config.help, enabled=False))
    console = make_console(off)
    assert console.client().get("/help/").status_code == 404
    article = knowledge.create_article(PRINTER_NB, console.people["agent"], language="nb")
    for action in ("validate", "publish"):
        knowledge.transition(article, action, console.people["reviewer"])
    assert knowledge.public_url(off, article, "nb") == ""
    config = dataclasses.replace(config, web=dataclasses.replace(config.web, port=5000))  # as `make run` has it
    assert knowledge.public_url(config, article, "nb") == (
        f"http://127.0.0.1:5000/help/nb/{article.id}-skriveren-viser-frakoblet-etter-windows-oppdateringen")
    elsewhere = dataclasses.replace(config, knowledge=dataclasses.replace(
        config.knowledge, public_url="https://kb.example.org/a/{id}"))
    assert knowledge.public_url(elsewhere, article, "nb") == f"https://kb.example.org/a/{article.id}"
    assert knowledge.public_url(config, article, "ru") == ""


def test_on_its_own_host_name_only_the_help_center_is_served_there(tmp_path, database, config):
    own = dataclasses.replace(config, help=dataclasses.replace(config.help, host="help.example.com"))
    console = make_console(own)
    client = console.client()
    there = {"base_url": "http://help.example.com"}
    assert client.get("/", **there).headers["Location"].endswith("/help/")
    assert client.get("/help/", **there).status_code == 200
    assert client.get("/sign-in", **there).status_code == 404
    assert client.get("/help/").status_code == 404  # the console's own host name
    sign_in(client, "agent")
    assert client.get("/").status_code in (200, 302)


def test_a_burst_across_the_turn_of_a_minute_is_not_allowed_twice_the_limit(console_on):
    import datetime as dt

    from web.throttle import allowed
    turn = dt.datetime(2026, 12, 7, 12, 1)
    with console_on.app.test_request_context("/help/contact", environ_base={"REMOTE_ADDR": "127.0.0.7"}):
        before = [allowed("contact", 10, turn - dt.timedelta(seconds=5) + dt.timedelta(milliseconds=n))
                  for n in range(6)]
        after = [allowed("contact", 10, turn + dt.timedelta(seconds=4, milliseconds=n)) for n in range(5)]
        # Eleven posts within ten seconds: the eleventh is refused, though only five fall in its minute.
        assert before == [True] * 6 and after == [True] * 4 + [False]
        # A minute on, the earlier posts have left the last sixty seconds.
        assert allowed("contact", 10, turn + dt.timedelta(seconds=70))
