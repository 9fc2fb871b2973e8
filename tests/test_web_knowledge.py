"""The knowledge pages: search, an article and its lifecycle, the article form, revision diffs, the review queue.

Articles are written through the pages or by daemon.knowledge, as the CLI
writes them; the pages are read and posted through Flask's test client on a
real database.
"""
from __future__ import annotations

import re

from daemon.knowledge import article_replies, figures
from daemon.knowledge import articles as knowledge
from daemon.knowledge.articles import ArticleText
from daemon.mail.parse import Address
from daemon.store.models import (
    Article, ArticleFlag, ArticleLink, ArticleSuggestion, AuditEvent, ReplyTemplate, SearchLog,
)
from daemon.tickets import lifecycle as tickets
from daemon.tickets import set_customer_language
from tests import webtools

PRINTER = {"title": "The printer prints nothing after the Windows update",
           "issue": "Nothing comes out of the printer since Tuesday's update.",
           "environment": "Windows 11, HP LaserJet on the third floor",
           "resolution": "Open Devices.\nRemove the printer.\nInstall the vendor's driver again.",
           "cause": "The update replaces vendor drivers with a generic one",
           "keywords": "printer, driver, windows update", "note": "from a ticket"}


def text(response) -> str:
    return response.get_data(as_text=True)


def written(console, **changes) -> Article:
    """An article written by the agent through the domain, as `kb` would."""
    values = {**PRINTER, **changes}
    keywords = tuple(k.strip() for k in values.pop("keywords").split(","))
    values.pop("note")
    return knowledge.create_article(ArticleText(keywords=keywords, **values), console.people["agent"])


def checked(console, **changes) -> Article:
    article = written(console, **changes)
    return knowledge.transition(article, "validate", console.people["reviewer"])


def new_article(client, **changes):
    return webtools.post(client, "/kb/new", {**PRINTER, **changes})


def article_id_of(response) -> int:
    assert response.status_code == 302, text(response)[:2000]
    return int(re.fullmatch(r"/kb/(\d+)", response.headers["Location"]).group(1))


def state_of(article_id: int) -> str:
    return Article.get_by_id(article_id).state


# Who may do what -----------------------------------------------------------------

def test_reviewer_pages_refuse_agents_and_every_page_sends_strangers_to_sign_in(console):
    article = checked(console)
    flag = knowledge.raise_flag(article, "outdated", console.people["agent"], "Step 2 names the old menu.")
    agent = console.client("agent")
    assert agent.get("/kb/review").status_code == 403
    assert webtools.post(agent, f"/kb/{article.id}/flags/{flag.id}/clear", {"note": "fixed"}).status_code == 403
    assert webtools.post(agent, f"/kb/{article.id}/template", {}).status_code == 403
    assert ArticleFlag.get_by_id(flag.id).cleared_at is None and ReplyTemplate.select().count() == 0
    for path in ("/kb/", f"/kb/{article.id}", "/kb/new", f"/kb/{article.id}/edit", f"/kb/{article.id}/diff",
                 "/kb/review"):
        response = console.client().get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in"), path


def test_forms_without_their_csrf_token_are_refused(console):
    article = written(console)
    agent = console.client("agent")
    for path, data in (("/kb/new", PRINTER), (f"/kb/{article.id}/state", {"action": "submit"}),
                       (f"/kb/{article.id}/flags", {"kind": "wrong", "detail": "It is wrong."}),
                       (f"/kb/{article.id}/edit", {**PRINTER, "title": "Another title"})):
        response = agent.post(path, data=data)
        assert response.status_code == 400 and "Form expired" in text(response), path
    assert Article.select().count() == 1 and state_of(article.id) == "draft" and article.revision == 1
    assert ArticleFlag.select().count() == 0


# The lifecycle, through the pages ------------------------------------------------

def test_an_agent_writes_and_submits_and_a_reviewer_validates_and_publishes(console_on):
    agent, reviewer = console_on.client("agent"), console_on.client("reviewer")
    article_id = article_id_of(new_article(agent))
    page = text(agent.get(f"/kb/{article_id}"))
    assert "Install the vendor&#39;s driver again." in page and "windows update" in page
    assert 'value="submit"' in page and 'value="validate"' not in page  # an agent is offered what they may do
    assert article_id_of(webtools.post(agent, f"/kb/{article_id}/state", {"action": "submit"})) == article_id
    assert state_of(article_id) == "not_validated"
    refused = webtools.post(agent, f"/kb/{article_id}/state", {"action": "validate", "note": "looks right"})
    assert refused.status_code == 400 and "only a reviewer or an admin may validate" in text(refused)
    assert "looks right</textarea>" in text(refused) and state_of(article_id) == "not_validated"
    assert f'href="/kb/{article_id}"' in text(reviewer.get("/kb/review"))
    webtools.post(reviewer, f"/kb/{article_id}/state", {"action": "validate", "note": "checked on a test PC"})
    published = webtools.post(reviewer, f"/kb/{article_id}/state", {"action": "publish"})
    assert published.status_code == 302 and state_of(article_id) == "published"
    notes = [rev.note for rev in knowledge.revisions(Article.get_by_id(article_id))]
    assert notes == ["from a ticket", "submit", "validate: checked on a test PC", "publish"]
    assert "is published now (revision 4)" in text(reviewer.get(f"/kb/{article_id}"))
    assert f'href="/kb/{article_id}"' not in text(reviewer.get("/kb/review"))


def test_a_transition_the_article_is_not_ready_for_is_a_message(console):
    article = written(console, resolution="")
    knowledge.raise_flag(article, "incomplete", console.people["agent"], "No steps yet.")
    response = webtools.post(console.client("reviewer"), f"/kb/{article.id}/state", {"action": "validate"})
    page = text(response)
    assert response.status_code == 400 and state_of(article.id) == "draft"
    assert "resolution: missing: an article is validated with the steps" in page and "flags: open flags" in page
    unknown = webtools.post(console.client("reviewer"), f"/kb/{article.id}/state", {"action": "burn"})
    assert unknown.status_code == 400 and "no article action &#39;burn&#39;" in text(unknown)


def test_a_refused_article_keeps_its_text_and_names_the_field(console):
    agent = console.client("agent")
    response = new_article(agent, issue="   ", keywords="printer, " + "k" * 70, ticket="#77")
    page = text(response)
    assert response.status_code == 400 and Article.select().count() == 0
    assert 'id="issue-error">missing: the problem in the customer&#39;s words' in page
    assert 'id="keywords-error">each keyword is 1 to 64 characters' in page
    assert 'id="ticket-error">no ticket #77' in page
    assert "Install the vendor&#39;s driver again.</textarea>" in page and 'value="from a ticket"' in page


def test_a_refused_edit_keeps_the_text_and_shows_the_field_message(console):
    article = written(console)
    agent = console.client("agent")
    form = text(agent.get(f"/kb/{article.id}/edit"))
    assert 'name="base_revision" value="1"' in form and 'value="printer, driver, windows update"' in form
    response = webtools.post(agent, f"/kb/{article.id}/edit", {
        **PRINTER, "issue": "", "resolution": "Reinstall the driver from the vendor's site.", "base_revision": "1"})
    page = text(response)
    assert response.status_code == 400 and Article.get_by_id(article.id).revision == 1
    assert 'id="issue-error">missing: the problem in the customer&#39;s words' in page
    assert "Reinstall the driver from the vendor&#39;s site.</textarea>" in page
    unchanged = webtools.post(agent, f"/kb/{article.id}/edit", {**PRINTER, "base_revision": "1"})
    assert unchanged.status_code == 400 and "nothing changed" in text(unchanged)


def test_an_edit_over_a_newer_revision_is_held_back_with_the_text_kept(console):
    article = written(console)
    knowledge.edit_article(article, ArticleText.of(article).replace(cause="A newer cause"), console.people["agent2"])
    response = webtools.post(console.client("agent"), f"/kb/{article.id}/edit", {
        **PRINTER, "resolution": "My own steps.", "base_revision": "1"})
    page = text(response)
    assert response.status_code == 409 and Article.get_by_id(article.id).revision == 2
    assert "My own steps.</textarea>" in page and 'name="base_revision" value="2"' in page
    assert f'href="/kb/{article.id}/diff?old=1&amp;new=2"' in page


def test_an_agent_cannot_edit_a_published_article_and_is_told_to_flag_it(console):
    article = knowledge.transition(checked(console), "publish", console.people["reviewer"])
    response = webtools.post(console.client("agent"), f"/kb/{article.id}/edit", {
        **PRINTER, "title": "A better title", "base_revision": str(article.revision)})
    assert response.status_code == 400 and "is published: customers read it" in text(response)
    assert 'value="A better title"' in text(response) and Article.get_by_id(article.id).title == PRINTER["title"]


# Comparing revisions --------------------------------------------------------------

def test_the_diff_shows_both_revisions_side_by_side_with_the_changes_marked(console_on):
    article = written(console_on)
    agent = console_on.client("agent")
    edited = webtools.post(agent, f"/kb/{article.id}/edit", {
        **PRINTER, "resolution": "Open Devices.\nRemove the printer.\nRestart.\nInstall the vendor's driver again.",
        "keywords": "printer, driver", "note": "a restart is needed", "base_revision": "1"})
    assert edited.status_code == 302
    page = text(agent.get(f"/kb/{article.id}/diff?old=1&new=2"))
    assert "revision 1 · English · draft · agent" in page and "revision 2 · English · draft · agent" in page
    assert "a restart is needed" in page
    left, right = re.findall(r'<pre aria-label="Resolution, revision \d">(.*?)</pre>', page, re.S)
    assert left.splitlines() == ["Open Devices.", "Remove the printer.", '<span class="changed"></span>',
                                 "Install the vendor&#39;s driver again."]
    assert right.splitlines()[2] == '<span class="changed">Restart.</span>'
    title_left, title_right = re.findall(r'<pre aria-label="Title, revision \d">(.*?)</pre>', page, re.S)
    assert title_left == title_right == PRINTER["title"] + "\n"  # unchanged, unmarked
    keywords = re.findall(r'<pre aria-label="Keywords, revision \d">(.*?)</pre>', page, re.S)
    assert keywords[0].splitlines() == ["printer", "driver", '<span class="changed">windows update</span>']
    assert keywords[1].splitlines() == ["printer", "driver", '<span class="changed"></span>']  # its gap, aligned


def test_a_diff_of_revisions_that_do_not_exist_is_a_message(console):
    article = written(console)
    reader = console.client("agent")
    missing = reader.get(f"/kb/{article.id}/diff?old=1&new=7")
    assert missing.status_code == 404 and f"article {article.id} has no revision 7" in text(missing)
    unreadable = reader.get(f"/kb/{article.id}/diff?old=first&new=1")
    assert unreadable.status_code == 400 and "Revisions are numbered 1 to 1" in text(unreadable)
    assert reader.get("/kb/99999").status_code == 404


# Searching -------------------------------------------------------------------------

def test_search_finds_articles_and_is_logged_for_the_ticket(console_on):
    article = checked(console_on)
    written(console_on, title="The scanner jams on thick paper", issue="The scanner jams.", keywords="scanner",
            environment="The scanner in the hall", resolution="Feed one sheet at a time.", cause="Thick paper")
    knowledge.raise_flag(article, "outdated", console_on.people["agent"], "The menu is called Settings now.")
    config = console_on.app.config["PATROLDESK"]
    customer = tickets.customer_for(Address("Åse", "ase@example.no"))
    ticket = tickets.open_ticket(customer, "Printer", "help@example.no", config.threading.first_number)
    page = text(console_on.client("agent").get(f"/kb/?q=printer+driver&ticket={ticket.number}"))
    assert f'href="/kb/{article.id}"' in page and "scanner" not in page
    assert re.search(r'<td class="num"><span class="badge high">1</span></td>', page)  # its open flag
    (logged,) = SearchLog.select()
    assert (logged.origin, logged.ticket_id, logged.results, logged.user_id) == (
        "console", ticket.id, 1, console_on.people["agent"].id)


def test_a_console_search_whose_article_was_then_replied_with_is_no_gap(console_on):
    article = checked(console_on)
    config = console_on.app.config["PATROLDESK"]
    article_replies.template_from_article(config, article, console_on.people["reviewer"])
    customer = tickets.customer_for(Address("Åse", "ase@example.no"))
    ticket = tickets.open_ticket(customer, "Printer", "help@example.no", config.threading.first_number)
    agent = console_on.client("agent")
    for _ in range(2):
        assert f'href="/kb/{article.id}"' in text(agent.get("/kb/?q=printer+driver"))
    sent = webtools.post(agent, f"/tickets/{ticket.number}/reply", {"template": f"kb-{article.id}", "action": "send"})
    assert sent.status_code == 302, text(sent)[:2000]
    assert figures.gaps(min_searches=1) == []


def test_without_words_the_newest_articles_are_listed_by_state(console):
    draft = written(console, title="A draft about the scanner", issue="It jams.")
    validated = checked(console)
    agent = console.client("agent")
    everything = text(agent.get("/kb/"))
    assert everything.index(f'href="/kb/{validated.id}"') < everything.index(f'href="/kb/{draft.id}"')
    only_drafts = text(agent.get("/kb/?state=draft"))
    assert f'href="/kb/{draft.id}"' in only_drafts and f'href="/kb/{validated.id}"' not in only_drafts
    wrong = agent.get("/kb/?state=lost&ticket=abc")
    assert wrong.status_code == 400 and "a ticket number, not &#39;abc&#39;" in text(wrong)
    assert SearchLog.select().count() == 0  # listing is not searching


# What drafting took out ----------------------------------------------------------------

def test_the_article_page_lists_what_drafting_took_out_and_puts_one_back(console):
    from daemon.patrol import logbook as patrol
    from daemon.patrol.logbook import Note
    config = console.app.config["PATROLDESK"]
    customer = tickets.customer_for(Address("Åse Berg", "ase@example.no"))
    ticket = tickets.open_ticket(customer, "The printer shows offline", "help@example.no",
                                 config.threading.first_number)
    note = Note(situation="Åse Berg's printer showed offline after the Windows update on Tuesday.",
                behaviour="Called 22 33 44 55, removed the printer and added it again with the vendor's driver.",
                outcome="It prints again from every office PC.", outcome_kind="resolved",
                cause="The update replaced the vendor driver", tags=("printer",))
    drafted = patrol.close(config, ticket, note, console.people["agent"], notify=False).capture.article
    agent = console.client("agent")
    page = text(agent.get(f"/kb/{drafted.id}"))
    assert "Taken out when drafted" in page and "22 33 44 55" in page and "Åse Berg" in page
    removal = next(r for r in drafted.removals if r.kind == "phone")
    path = f"/kb/{drafted.id}/removals/{removal.id}/restore"
    assert agent.post(path, data={"language": "en"}).status_code == 400  # no CSRF token: refused
    assert "[phone]" in Article.get_by_id(drafted.id).primary.resolution
    response = webtools.post(agent, path, {"language": "en"})
    assert response.status_code == 302 and response.headers["Location"].endswith("#removals")
    resolution = Article.get_by_id(drafted.id).primary.resolution
    assert resolution.startswith("Called 22 33 44 55, removed the printer") and "[phone]" not in resolution
    page = text(agent.get(f"/kb/{drafted.id}"))
    assert "put back" in page and "Put back; the article is at revision" in page
    again = webtools.post(agent, path, {"language": "en"})
    assert again.status_code == 400 and "back in the article already" in text(again)


# Flags and templates ---------------------------------------------------------------

def test_a_flag_is_raised_from_the_page_and_a_reviewer_clears_it(console):
    article = checked(console)
    agent, reviewer = console.client("agent"), console.client("reviewer")
    page = text(agent.get(f"/kb/{article.id}"))
    assert 'value="reopened"' not in page and 'value="outdated"' in page
    refused = webtools.post(agent, f"/kb/{article.id}/flags", {"kind": "outdated", "detail": " "})
    assert refused.status_code == 400 and 'id="detail-error">say what is wrong' in text(refused)
    duplicate = webtools.post(agent, f"/kb/{article.id}/flags", {"kind": "duplicate", "duplicate_of": "424242"})
    assert duplicate.status_code == 400 and "no article &#39;424242&#39;" in text(duplicate)
    assert ArticleFlag.select().count() == 0
    raised = webtools.post(agent, f"/kb/{article.id}/flags", {"kind": "outdated", "detail": "Step 2 moved."})
    assert raised.status_code == 302
    (flag,) = ArticleFlag.select()
    queue = text(reviewer.get("/kb/review"))
    assert "Step 2 moved." in queue and f'href="/kb/{article.id}#flags"' in queue
    no_note = webtools.post(reviewer, f"/kb/{article.id}/flags/{flag.id}/clear", {"note": ""})
    assert no_note.status_code == 400 and "say what was done about it" in text(no_note)
    cleared = webtools.post(reviewer, f"/kb/{article.id}/flags/{flag.id}/clear", {"note": "Step 2 rewritten."})
    assert cleared.status_code == 302 and ArticleFlag.get_by_id(flag.id).clear_note == "Step 2 rewritten."
    page = text(reviewer.get(f"/kb/{article.id}"))
    assert "Cleared: Step 2 rewritten." in page and "Step 2 moved." not in text(reviewer.get("/kb/review"))


def test_a_reviewer_makes_a_reply_template_from_a_checked_article_only(console):
    draft, article = written(console, title="Scanner jams", issue="It jams."), checked(console)
    reviewer = console.client("reviewer")
    refused = webtools.post(reviewer, f"/kb/{draft.id}/template", {})
    assert refused.status_code == 400 and f"article {draft.id} is draft" in text(refused)
    made = webtools.post(reviewer, f"/kb/{article.id}/template", {"name": ""})
    assert made.status_code == 302
    (template,) = ReplyTemplate.select()
    assert (template.name, template.article_id, template.article_revision) == (
        f"kb-{article.id}", article.id, article.revision)
    assert f"Reply template kb-{article.id} made" in text(reviewer.get(f"/kb/{article.id}"))


def test_the_review_queue_lists_drafts_and_unvalidated_articles_oldest_first(console):
    first = written(console, title="First: scanner jams", issue="It jams.")
    second = knowledge.transition(written(console, title="Second: mail bounces", issue="Mail bounces."), "submit",
                                  console.people["agent"])
    checked(console, title="Third: checked already")
    page = text(console.client("reviewer").get("/kb/review"))
    assert page.index("First: scanner jams") < page.index("Second: mail bounces")
    assert "Third: checked already" not in page and "not_validated" in page and f'href="/kb/{second.id}"' in page
    assert f'href="/kb/{first.id}"' in page and "No open flag." in page


# Language variants -------------------------------------------------------------------

PRINTER_RU = {"title": "Принтер ничего не печатает после обновления Windows",
              "issue": "После обновления во вторник из принтера ничего не выходит.",
              "environment": "Windows 11, HP LaserJet на третьем этаже",
              "resolution": "Откройте «Устройства».\nУдалите принтер.\nУстановите драйвер производителя заново.",
              "cause": "Обновление заменяет драйвер производителя стандартным", "keywords": "принтер, драйвер",
              "note": "для русскоязычных клиентов"}


def russian_ticket(console, article: Article):
    """A ticket of a Russian-speaking customer, the English-only article suggested for it."""
    config = console.app.config["PATROLDESK"]
    customer = tickets.customer_for(Address("Ольга", "olga@example.ru"))
    set_customer_language(customer, "ru")
    ticket = tickets.open_ticket(customer, "Принтер не печатает", "help@example.no", config.threading.first_number)
    ArticleSuggestion.create(ticket=ticket.id, article=article.id, rank=1, score=1.0)
    return ticket


def test_an_agent_adds_the_customers_language_to_an_article_from_the_ticket(console_on):
    article = checked(console_on)
    ticket = russian_ticket(console_on, article)
    agent = console_on.client("agent")
    page = text(agent.get(f"/tickets/{ticket.number}"))
    assert "Articles in the customer's language (Russian)" in page and "closest: English" in page
    assert "needs a Russian variant" in page
    assert f'/kb/variants/new?article={article.id}&amp;language=ru&amp;ticket={ticket.number}' in page

    form = agent.get(f"/kb/variants/new?article={article.id}&language=ru&ticket={ticket.number}")
    assert form.status_code == 200 and 'value="ru" selected' in text(form)
    assert PRINTER["title"] in text(form)  # the English variant, to write from
    missing = webtools.post(agent, "/kb/variants/new", {**PRINTER_RU, "article": "424242", "language": "ru"})
    assert missing.status_code == 400 and "no article &#39;424242&#39;" in text(missing)
    added = webtools.post(agent, "/kb/variants/new", {**PRINTER_RU, "article": str(article.id), "language": "ru",
                                                      "ticket": str(ticket.number)})
    assert added.status_code == 302 and added.headers["Location"] == f"/kb/{article.id}?language=ru"
    found = Article.get_by_id(article.id)
    assert [(v.language, v.state) for v in found.variant_list] == [("en", "validated"), ("ru", "draft")]
    assert ArticleLink.get(ArticleLink.ticket == ticket.id).article_id == article.id
    twice = webtools.post(agent, "/kb/variants/new", {**PRINTER_RU, "article": str(article.id), "language": "ru"})
    assert twice.status_code == 400 and "has a ru variant already" in text(twice)

    page = text(agent.get(f"/kb/{article.id}?language=ru"))
    assert "Откройте «Устройства»." in page and 'lang="ru"' in page
    assert f'href="/kb/{article.id}?language=en"' in page and "Needs a" not in page
    assert Article.select().count() == 1


def test_a_reviewer_validates_one_variant_and_the_gap_shows_until_there_is_one(console):
    article = checked(console)
    ticket = russian_ticket(console, article)
    reviewer = console.client("reviewer")
    page = text(reviewer.get(f"/kb/{article.id}"))
    assert "Needs a Russian variant:" in page and "1 ticket of a reader of it was sent here." in page
    review = text(reviewer.get("/kb/review"))
    assert "Articles that need a language" in review and "Russian: 1" in review
    assert "Articles: 1; language variants: 1; articles that need a variant in their readers' language: 1." in review
    knowledge.add_variant(article, "ru", ArticleText(**{k: v for k, v in PRINTER_RU.items()
                                                       if k not in ("keywords", "note")}), console.people["agent"])
    validated = webtools.post(reviewer, f"/kb/{article.id}/state", {"action": "validate", "language": "ru"})
    assert validated.status_code == 302 and validated.headers["Location"] == f"/kb/{article.id}?language=ru"
    found = Article.get_by_id(article.id)
    assert (found.variant("ru").state, found.variant("en").state) == ("validated", "validated")
    made = webtools.post(reviewer, f"/kb/{article.id}/template", {"language": "ru"})
    assert made.status_code == 302 and ReplyTemplate.get(ReplyTemplate.language == "ru").name == f"kb-{article.id}"
    page = text(reviewer.get(f"/kb/{article.id}?language=ru"))
    assert "Needs a" not in page and "Russian" in page
    assert "needs a Russian variant" not in text(reviewer.get(f"/tickets/{ticket.number}"))


def test_the_knowledge_pages_speak_the_agents_language(console):
    article = checked(console)
    page = text(console.client("agent").get(f"/kb/{article.id}", headers={"Accept-Language": "ru"}))
    assert "Добавить язык" in page and "Ключевые слова" in page
    page = text(console.client("agent").get("/kb/", headers={"Accept-Language": "nb"}))
    assert "Skriv en artikkel" in page and ">validert</span>" in page
    draft = written(console, title="Skanneren lagrer i feil mappe", issue="Skanneren lagrer i feil mappe.")
    page = text(console.client("reviewer").get(f"/kb/{draft.id}", headers={"Accept-Language": "ru"}))
    assert ">Утвердить</button>" in page and ">черновик</span>" in page and "Состояние языковой версии" in page


def test_the_composer_sends_an_articles_template_in_the_closest_language_and_says_so(console):
    article = checked(console)
    article_replies.templates_from_article(console.app.config["PATROLDESK"], article, console.people["reviewer"])
    ticket = russian_ticket(console, article)
    agent = console.client("agent")
    page = text(agent.get(f"/tickets/{ticket.number}?template=kb-{article.id}"))
    assert "closest: English" in page
    sent = webtools.post(agent, f"/tickets/{ticket.number}/reply", {"template": f"kb-{article.id}", "action": "send"})
    assert sent.status_code == 302, text(sent)[:2000]
    (told,) = AuditEvent.select().where(AuditEvent.action == "article sent in another language")
    assert (told.ticket_id, told.actor_id) == (ticket.id, console.people["agent"].id)
    assert '"customer_language": "ru"' in told.detail and '"language": "en"' in told.detail


def test_the_review_queue_lists_articles_unused_flagged_or_reopened_against(console):
    import datetime as dt

    from daemon.store.models import utcnow
    old = written(console, title="Fax machine jams")
    Article.update(created_at=utcnow() - dt.timedelta(days=120)).where(Article.id == old.id).execute()
    reopened = written(console, title="VPN drops every hour")
    Article.update(reopen_count=2).where(Article.id == reopened.id).execute()
    flagged = written(console, title="Printer prints blank pages")
    knowledge.raise_flag(flagged, "outdated", console.people["agent"], "The menu moved.")
    fresh = written(console, title="Outlook asks for the password")
    rows = figures.content_health()
    assert [(r["article"], r.get("unused_days"), r.get("reopened"), r.get("open_flags")) for r in rows] == [
        (reopened.id, None, 2, None), (flagged.id, None, None, 1), (old.id, 120, None, None)]
    page = text(console.client("reviewer").get("/kb/review"))
    assert "Content health" in page and "not used in 120 days" in page and "reopened against 2 times" in page
    assert "1 open flag" in page and "Outlook asks for the password" not in page.split("Content health")[1].split(
        "Open flags")[0]
    assert fresh.id not in {r["article"] for r in rows}
