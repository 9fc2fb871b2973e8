"""Knowledge: capture on close, reuse before create, search, lifecycle, replies from articles, gaps.

Tickets arrive as real mail through the pipeline and close through
patrol.close, the one way every front door closes them; the domain runs on
SQLite and PostgreSQL.
"""
from __future__ import annotations

import dataclasses
import email
import json
from collections import defaultdict

import pytest

from daemon.ingest import pipeline
from daemon.ingest.sources import spool
from daemon.knowledge import article_replies as kb_replies
from daemon.knowledge import articles as knowledge
from daemon.knowledge import capture, search
from daemon.knowledge import figures as kb_figures
from daemon.knowledge.articles import ArticleRefused, ArticleText, NotAllowed
from daemon.patrol import logbook as patrol
from daemon.patrol.logbook import Note
from daemon.people.users import create_user
from daemon.store import db
from daemon.store.models import (
    Article, ArticleFlag, ArticleLink, ArticleRevision, ArticleSuggestion, Outgoing, ReplyTemplate, SearchLog, Ticket,
)
from daemon.tickets import lifecycle as tickets
from tests import kb_corpus
from tests.conftest import make_config
from tests.corpus import simple_mail

SUPPORT = "hjelp@example.no"


@pytest.fixture
def setup(tmp_path, backend_url):
    config = make_config(tmp_path, backend_url, support={"addresses": [SUPPORT]},
                         knowledge={"public_url": "https://help.example.no/articles/{id}"})
    handle = db.open_database(config)
    db.upgrade()
    agent = create_user("kari", "agent", "korrekt-hest-batteri", name="Kari Nordmann")
    reviewer = create_user("olga", "reviewer", "korrekt-hest-batteri", name="Ольга Смирнова")
    yield config, agent, reviewer
    handle.close()


_counter = iter(range(1, 1_000_000))


def mail_in(config, sender: str, subject: str, body: str, **headers) -> Ticket:
    """A customer's mail through the pipeline; the ticket it opened or joined."""
    message_id = f"kb{next(_counter)}@example.org"
    spool.enqueue(simple_mail(frm=sender, to=SUPPORT, subject=subject, body=body, message_id=message_id,
                              **headers), "test")
    (result,) = pipeline.drain(config)
    assert result.outcome in ("created", "threaded"), result
    return Ticket.by_number(result.ticket)


def note_of(item: kb_corpus.CorpusTicket) -> Note:
    return Note(situation=item.situation, behaviour=item.behaviour, outcome=item.outcome,
                outcome_kind=item.outcome_kind, cause=item.cause, tags=item.tags)


def corpus_ticket(config, item: kb_corpus.CorpusTicket) -> Ticket:
    return mail_in(config, f"{item.customer_name} <{item.customer_email}>", item.subject, item.body)


def article(agent, title: str, issue: str = "The customer's words.", resolution: str = "", **more) -> Article:
    return knowledge.create_article(ArticleText(title=title, issue=issue, resolution=resolution, **more), agent)


# Capture on close: reuse before create ---------------------------------------------------

def close_as_an_agent(config, ticket, item, agent, asked: list | None = None):
    """Close as an agent does who reads what closing offers: when asked about articles, the one written
    for this problem is confirmed, and with none of them a draft is asked for."""
    try:
        return patrol.close(config, ticket, note_of(item), agent)
    except capture.ChooseArticle as question:
        if asked is not None:
            asked.append((item.problem, [(a.id, round(score, 3)) for a, score in question.candidates]))
        mine = [a for a, _ in question.candidates if problem_of(a) == item.problem]
        if mine:
            return patrol.close(config, ticket, note_of(item), agent, article=mine[0])
        return patrol.close(config, ticket, note_of(item), agent, new_article=True)


def problem_of(found: Article) -> str | None:
    """The corpus problem an article was drafted for (by the subject of the ticket it came from)."""
    source = Ticket.get_or_none(Ticket.id == found.source_ticket_id)
    return next((t.problem for t in kb_corpus.TICKETS if source and t.subject == source.subject), None)


def test_the_corpus_drafts_one_article_per_problem_and_links_every_other_ticket_to_it(setup):
    config, agent, _ = setup
    assert len(kb_corpus.TICKETS) >= 30 and len(kb_corpus.PROBLEMS) >= 10
    assert {t.language for t in kb_corpus.TICKETS} == {"en", "ru", "no"}
    article_of_problem: dict[str, set[int]] = defaultdict(set)
    actions = defaultdict(list)
    asked: list = []
    for item in kb_corpus.TICKETS:
        ticket = corpus_ticket(config, item)
        report = close_as_an_agent(config, ticket, item, agent, asked)
        assert report.capture.article is not None, (item.problem, report.capture)
        if report.capture.action == "reused":  # linked without asking: never to another problem's article
            assert report.capture.article.id in article_of_problem[item.problem], (item.problem, report.capture)
        article_of_problem[item.problem].add(report.capture.article.id)
        actions[item.problem].append(report.capture.action)
    merged = {p: ids for p, ids in article_of_problem.items() if len(ids) != 1}
    assert merged == {}, f"problems split over several articles: {merged}"
    owners = defaultdict(set)
    for problem, ids in article_of_problem.items():
        owners[next(iter(ids))].add(problem)
    assert {a: p for a, p in owners.items() if len(p) > 1} == {}, "different problems merged into one article"
    assert Article.select().count() == len(kb_corpus.PROBLEMS)
    assert all(acts[0] == "drafted" and set(acts[1:]) <= {"reused", "linked"} for acts in actions.values()), actions
    assert asked and all(any(aid in article_of_problem[problem] for aid, _ in offered) for problem, offered in asked)
    assert ArticleLink.select().count() == len(kb_corpus.TICKETS)
    assert sum(a.reuse_count for a in Article.select()) == len(kb_corpus.TICKETS) - len(kb_corpus.PROBLEMS)


def test_a_new_problem_drafts_every_kcs_field_from_its_source(setup):
    config, agent, _ = setup
    ticket = mail_in(config, "Åse Ødegård <ase@example.no>", "Skriveren skriver blanke sider [#99999]",
                     "Hei!\n\nSkriveren i tredje etasje skriver bare blanke sider etter at vi byttet toner. "
                     "Ring meg på +47 912 34 567 eller skriv til ase.odegard@firma.no.\n\n"
                     "Med vennlig hilsen\nÅse Ødegård\nFirma AS")
    note = Note(situation="Åse got blank pages from the third-floor printer after a toner change.",
                behaviour="Opened the front cover, pulled the orange sealing strip off the new toner, printed a test page.",
                outcome="Pages print with text again; the seal had blocked the toner.",
                outcome_kind="resolved", cause="Sealing strip left on the new toner cartridge",
                tags=("printer", "toner"))
    report = patrol.close(config, ticket, note, agent)
    result = report.capture
    assert result.action == "drafted"
    drafted = Article.get_by_id(result.article.id)
    assert drafted.state == "draft" and drafted.source_ticket_id == ticket.id
    assert "blanke sider" in drafted.title and "99999" not in drafted.title
    assert "skriver bare blanke sider etter at vi byttet toner" in drafted.issue
    for specific in ("Åse", "Ødegård", "912 34 567", "ase.odegard@firma.no", "Med vennlig hilsen", "Hei!"):
        assert specific not in drafted.issue, specific
    assert drafted.environment.startswith("printer, toner")
    assert "sealing strip" in drafted.resolution and "Åse" not in drafted.resolution
    assert drafted.cause.startswith("Sealing strip left on the new toner cartridge")
    assert "Pages print with text again" in drafted.cause
    keywords = [k.lower() for k in drafted.keyword_list]
    assert "printer" in keywords and "toner" in keywords and any("blank" in k for k in keywords)
    removed = {(r.kind, r.text) for r in result.removed}
    assert ("email", "ase.odegard@firma.no") in removed
    assert any(kind == "phone" for kind, _ in removed) and any(kind == "name" for kind, _ in removed)
    assert drafted.languages == ["nb"] and drafted.variant("nb").title == drafted.title
    assert [r.note for r in knowledge.revisions(drafted)] == [f"drafted from ticket #{ticket.number}"]
    facts_links = ArticleLink.get(ArticleLink.ticket == ticket.id)
    assert facts_links.kind == "created" and facts_links.report_id == report.id


def test_a_draft_keeps_our_addresses_and_takes_out_third_persons_identifiers_and_placeholder_keywords(
        tmp_path, backend_url):
    config = make_config(tmp_path, backend_url, support={"addresses": [SUPPORT]},
                         knowledge={"own_domains": ["portal.example"], "order_pattern": "ORD-[0-9]{6}"})
    handle = db.open_database(config)
    db.upgrade()
    agent = create_user("kari", "agent", "korrekt-hest-batteri", name="Kari Nordmann")
    ticket = mail_in(config, "Kari Hansen <kari@kunde.no>", "Fakturaen har feil MVA-nummer",
                     "Hei,\n\nFakturaen for ordre ORD-123456 har feil MVA-nummer. Vårt org.nr er 923 609 016 og "
                     "VAT-nummeret DE123456789. Betal til NO93 8601 1117 947. Per Olsen i regnskap vet mer, "
                     "ring 22 33 44 55.\n\nHilsen\nKari Hansen\nLars Berg\nØkonomi",
                     extra_headers=[("Cc", "Per Olsen <per.olsen@kunde.no>, Support <hjelp@example.no>")])
    note = Note(situation="Kari Hansen got invoices with a wrong VAT number after the move.",
                behaviour="Asked the customer to open https://portal.example/company, correct the VAT number "
                          "and confirm the mail from noreply@portal.example; Lars Berg confirmed it. Card "
                          "4111 1111 1111 1111 had been charged twice; mail hjelp@example.no if it happens again.",
                outcome="New invoices carry the right VAT number.", outcome_kind="resolved",
                cause="The VAT number was not updated after the move", tags=("invoice", "vat"))
    result = patrol.close(config, ticket, note, agent).capture
    assert result.action == "drafted"
    drafted = Article.get_by_id(result.article.id)
    fields = "\n".join((drafted.title, drafted.issue, drafted.environment, drafted.resolution, drafted.cause))
    assert "noreply@portal.example" in drafted.resolution and "hjelp@example.no" in drafted.resolution
    assert "https://portal.example/company" in drafted.resolution
    for specific in ("ORD-123456", "923 609 016", "DE123456789", "NO93", "4111", "Per Olsen", "Olsen", "Lars Berg",
                     "Berg", "Kari Hansen", "22 33 44 55", "kari@kunde.no"):
        assert specific not in fields, specific
    assert "Fakturaen" in drafted.issue and "feil MVA-nummer" in drafted.issue
    removed = {(r.kind, r.text) for r in result.removed}
    assert {("order", "ORD-123456"), ("vat-id", "923 609 016"), ("vat-id", "DE123456789"),
            ("iban", "NO93 8601 1117 947"), ("card", "4111 1111 1111 1111"), ("name", "Per Olsen"),
            ("name", "Lars Berg")} <= removed
    words = {word for keyword in drafted.keyword_list for word in keyword.lower().split()}
    assert not words & {"name", "phone", "email", "vat-id", "iban", "card", "id-number", "order", "ticket",
                        "credentials"}, drafted.keyword_list
    handle.close()


def drafted_with_removals(config, agent) -> Article:
    ticket = mail_in(config, "Kari Hansen <kari@kunde.no>", "Skriveren er frakoblet",
                     "Hei,\n\nSkriveren står som frakoblet etter oppdateringen. Ring 22 33 44 55 eller 22 33 44 55 "
                     "i resepsjonen, eller skriv til kari@kunde.no.\n\nHilsen\nKari Hansen")
    note = Note(situation="The printer showed offline after the Windows update.",
                behaviour="Called 22 33 44 55, removed the printer and added it again with the vendor driver.",
                outcome="It prints again from every office PC.", outcome_kind="resolved",
                cause="The update swapped the driver",
                tags=("printer",))
    result = patrol.close(config, ticket, note, agent).capture
    assert result.action == "drafted"
    return Article.get_by_id(result.article.id)


def test_every_removal_is_kept_where_it_was_taken_from_and_one_can_be_put_back(setup):
    config, agent, _ = setup
    drafted = drafted_with_removals(config, agent)
    removals = capture.removals_of(drafted, drafted.primary.language)
    placed = [(r.field, r.position, r.kind, r.text) for r in removals if r.field]
    assert placed == [("resolution", 0, "phone", "22 33 44 55"),
                      ("issue", 0, "phone", "22 33 44 55"), ("issue", 1, "phone", "22 33 44 55"),
                      ("issue", 2, "email", "kari@kunde.no")]
    assert {(r.kind, r.field) for r in removals if not r.field} == {("greeting", ""), ("signature", "")}
    issue = drafted.primary.issue
    assert issue.count("[phone]") == 2 and "[email]" in issue and "\ue000" not in issue
    second_phone = next(r for r in removals if (r.field, r.position) == ("issue", 1))
    capture.restore_removal(drafted, second_phone.id, agent)
    after = Article.get_by_id(drafted.id).primary.issue
    assert "Ring [phone] eller [phone] i resepsjonen" in issue  # the second of two alike is the one put back
    assert after == issue.replace("Ring [phone] eller [phone]", "Ring [phone] eller 22 33 44 55")
    assert [r.note for r in knowledge.revisions(drafted)][-1] == "put back a phone taken out when drafting"
    with pytest.raises(ArticleRefused):  # back already
        capture.restore_removal(drafted, second_phone.id, agent)
    email = next(r for r in removals if r.kind == "email")
    edited = knowledge.edit_article(drafted, dataclasses.replace(
        ArticleText.of(Article.get_by_id(drafted.id).primary),
        issue="Printer offline. Mail [email] when it happens."), agent)
    capture.restore_removal(edited, email.id, agent)  # edited since: the first [email] of the field
    assert Article.get_by_id(drafted.id).primary.issue == "Printer offline. Mail kari@kunde.no when it happens."
    first_phone = next(r for r in removals if (r.field, r.position) == ("issue", 0))
    with pytest.raises(ArticleRefused, match="no longer holds"):
        capture.restore_removal(drafted, first_phone.id, agent)
    signature = next(r for r in removals if r.kind == "signature")
    with pytest.raises(ArticleRefused):
        capture.restore_removal(drafted, signature.id, agent)


def test_a_draft_takes_the_agents_title_and_steps_and_a_copied_account_waits_for_a_rewrite(setup):
    config, agent, reviewer = setup
    note = Note(situation="Kari Hansen's printer showed offline after the Windows update on Tuesday.",
                behaviour="Called Kari Hansen, removed the printer and added it again with the vendor driver.",
                outcome="It prints again from every office PC.", outcome_kind="resolved",
                cause="The update swapped the driver", tags=("printer",))
    given = mail_in(config, "Kari Hansen <kari@kunde.no>", "Skriveren", "Skriveren står som frakoblet.")
    result = patrol.close(config, given, note, agent,
                          article_title="Printer shows offline after the Windows update",
                          article_steps="Open Settings > Printers.\nRemove the printer.\nAdd it again with the "
                                        "vendor driver (not the one Windows offers).").capture
    drafted = Article.get_by_id(result.article.id)
    assert drafted.title == "Printer shows offline after the Windows update"
    assert drafted.resolution.startswith("Open Settings > Printers.\nRemove the printer.")
    assert not [f for f in knowledge.open_flags(drafted) if f.kind == "rewrite"]
    copied = mail_in(config, "Per Berg <per@kunde.no>", "VPN kobler ikke til", "VPN-klienten kobler ikke til.")
    result = patrol.close(config, copied, Note(
        situation="The VPN client refused to connect from home since Monday.",
        behaviour="Checked the certificate, renewed it in the portal and restarted the VPN client.",
        outcome="The VPN connects again from home.", outcome_kind="resolved",
        cause="The client certificate had expired", tags=("vpn",)), agent, new_article=True).capture
    assert result.action == "drafted"
    copy = Article.get_by_id(result.article.id)
    (flag,) = [f for f in knowledge.open_flags(copy) if f.kind == "rewrite"]
    assert "diary" in flag.detail and flag.raised_by_id is None  # "Called ..., removed ...": the agent's account
    with pytest.raises(ArticleRefused, match="open flags"):
        knowledge.transition(copy, "validate", reviewer)
    knowledge.edit_article(copy, dataclasses.replace(ArticleText.of(copy.primary), cause="An expired certificate."),
                           agent)
    assert [f.kind for f in knowledge.open_flags(copy)] == ["rewrite"]  # the resolution was not touched
    knowledge.edit_article(copy, dataclasses.replace(ArticleText.of(Article.get_by_id(copy.id).primary),
                                                     resolution="Open the portal.\nRenew the certificate."), agent)
    assert knowledge.open_flags(copy) == []
    assert knowledge.transition(copy, "validate", reviewer).state == "validated"


def test_a_different_problem_with_shared_words_drafts_its_own_article(setup):
    config, agent, _ = setup
    first = mail_in(config, "a@example.org", "Printer prints blank pages",
                    "Since we changed the toner the printer only gives blank pages.")
    patrol.close(config, first, Note(
        situation="The printer gave blank pages after the toner was changed.",
        behaviour="Removed the sealing strip from the new toner cartridge and printed a test page.",
        outcome="The printer prints text again.", outcome_kind="resolved", cause="Toner seal not removed",
        tags=("printer",)), agent)
    second = mail_in(config, "b@example.org", "Printer missing after update",
                     "After last night's Windows update my printer is gone from the list of printers.")
    report = patrol.close(config, second, Note(
        situation="The printer vanished from Windows after the monthly update.",
        behaviour="Re-added the queue from the print server and set it as default.",
        outcome="The printer is back in the list and prints.", outcome_kind="resolved",
        cause="The update removed mapped print queues", tags=("printer", "windows")), agent)
    assert report.capture.action == "drafted"
    assert Article.select().count() == 2


def test_closing_with_a_named_article_links_it_and_flags_it_in_the_same_step(setup):
    config, agent, reviewer = setup
    known = article(agent, "VPN fails from home", resolution="Renew the client certificate.")
    ticket = mail_in(config, "c@example.org", "VPN", "VPN does not connect from home.")
    report = patrol.close(config, ticket, Note(
        situation="VPN did not connect from the customer's home office.",
        behaviour="Renewed the client certificate following the article.",
        outcome="The VPN connects again after the renewal.", outcome_kind="resolved"), agent,
        article=known, article_flag=kb_replies.Flag("incomplete", "no step for macOS keychain"))
    assert report.capture.action == "linked" and report.capture.article.id == known.id
    assert Article.get_by_id(known.id).reuse_count == 1
    (flag,) = knowledge.flag_queue()
    assert (flag.kind, flag.detail, flag.ticket_id, flag.raised_by_id) == (
        "incomplete", "no step for macOS keychain", ticket.id, agent.id)


def test_a_flag_without_its_reason_refuses_the_close_and_writes_nothing(setup):
    config, agent, _ = setup
    known = article(agent, "VPN fails from home", resolution="Renew the client certificate.")
    ticket = mail_in(config, "c@example.org", "VPN", "VPN does not connect from home.")
    with pytest.raises(ArticleRefused) as refused:
        patrol.close(config, ticket, Note(
            situation="VPN did not connect from the customer's home office.",
            behaviour="Renewed the client certificate following the article.",
            outcome="The VPN connects again after the renewal.", outcome_kind="resolved"), agent,
            article=known, article_flag=kb_replies.Flag("outdated", ""))
    assert "detail" in refused.value.problems
    assert Ticket.get_by_id(ticket.id).status == "new" and not ArticleLink.select().exists()


def test_outcomes_that_teach_nothing_capture_nothing(setup):
    config, agent, _ = setup
    ticket = mail_in(config, "d@example.org", "Hello?", "Is anyone there? I wrote last week.")
    report = patrol.close(config, ticket, Note(
        situation="The customer asked whether anyone read their mail.",
        behaviour="Asked them twice what the problem was, no answer came.",
        outcome="Closed after a week without a reply from them.", outcome_kind="no-response"), agent)
    assert report.capture.action == "skipped" and not Article.select().exists()


def test_kb_draft_refuses_a_second_draft_of_a_known_problem_unless_forced(setup):
    config, agent, _ = setup
    item = kb_corpus.TICKETS[0]
    first = corpus_ticket(config, item)
    patrol.close(config, first, note_of(item), agent)
    twin = next(t for t in kb_corpus.TICKETS[1:] if t.problem == item.problem)
    second = corpus_ticket(config, twin)
    patrol.add_interim(config, second, note_of(twin), agent)
    found = capture.draft_for_ticket(config, second, agent)
    assert found.action == "reused" and found.article.id == Article.get().id
    assert Article.select().count() == 1
    assert capture.draft_for_ticket(config, second, agent, force=True).action == "drafted"
    assert Article.select().count() == 2


# Search ------------------------------------------------------------------------------

@pytest.mark.parametrize("written, searched", [
    ("Принтер не печатает после обновления", ["принтер", "принтера", "принтеры", "принтером"]),
    ("Skriveren skriver ikke ut", ["skriver", "skriveren", "skriverne", "skrivere"]),
    ("Printers print blank pages", ["printer", "printers", "printing"]),
    ("Café menu shows é wrongly", ["cafe", "café", "CAFÉ"]),
])
def test_search_finds_an_article_across_inflections(setup, written, searched):
    _, agent, _ = setup
    found_article = article(agent, written)
    article(agent, "Unrelated: VPN certificate expired")
    for words_typed in searched:
        hits = kb_figures.search_articles(words_typed).found
        assert [f.article.id for f in hits] == [found_article.id], words_typed


def test_a_title_match_ranks_above_a_single_mention(setup):
    _, agent, _ = setup
    mention = article(agent, "Calendar not shared", issue="The calendar is missing on the phone.",
                      resolution="Accept the invitation. Unrelated: the printer in the hall works.")
    titled = article(agent, "Printer prints blank pages", issue="Blank pages after a toner change.",
                     resolution="Remove the sealing strip.")
    hits = kb_figures.search_articles("printer").found
    assert [f.article.id for f in hits] == [titled.id, mention.id]


def test_a_search_too_broad_for_bm25_ranks_by_telling_words_and_keeps_to_what_matches(setup, monkeypatch):
    _, agent, reviewer = setup
    titled = article(agent, "Printer prints blank pages", issue="The printer gives blank pages.",
                     resolution="Remove the sealing strip from the printer toner.")
    mention = article(agent, "Calendar not shared", issue="The calendar is missing on the phone.",
                      resolution="Accept the invitation. Unrelated: the printer in the hall works.")
    second = article(agent, "Printer offline", issue="The printer shows offline.", resolution="Add it again.")
    retired = article(agent, "Printer jams", issue="Paper jams in the printer.", resolution="Clean the rollers.")
    knowledge.transition(retired, "archive", reviewer)
    article(agent, "VPN certificate expired")
    monkeypatch.setattr(search, "_BM25_AT_MOST", 2)  # as if thousands matched: the bounded path
    took = []
    bounded = search._by_telling_words
    monkeypatch.setattr(search, "_by_telling_words", lambda *args: took.append(bounded(*args)) or took[-1])
    ranked = [f.article.id for f in kb_figures.search_articles("printer", limit=2).found]
    assert set(ranked) == {titled.id, second.id}  # the printer in the title weighs most; never the archived
    every = {f.article.id for f in kb_figures.search_articles("printer", limit=3).found}
    assert every == {titled.id, second.id, mention.id}  # a mere mention is still a match
    assert kb_figures.search_articles("printer blank", limit=1).found[0].article.id == titled.id
    if db.is_sqlite():  # PostgreSQL ranks with ts_rank, which has no such cost to work around
        assert took and [hit.article_id for hit in took[0]] == ranked


def test_search_asks_for_any_word_when_no_article_has_them_all(setup):
    _, agent, _ = setup
    only = article(agent, "Outlook asks for the password again")
    hits = kb_figures.search_articles("outlook password quantum").found
    assert [f.article.id for f in hits] == [only.id]


def test_an_archived_article_is_not_found_and_a_changed_one_is_found_by_its_new_words(setup):
    _, agent, reviewer = setup
    item = article(agent, "Scanner saves to the wrong folder")
    knowledge.edit_article(item, ArticleText.of(item).replace(title="Skanneren lagrer i feil mappe"), agent)
    assert kb_figures.search_articles("mappe").found[0].article.id == item.id
    assert kb_figures.search_articles("saves").found == []  # the old words are gone from the index
    # ...while "scanner" finds it still, now through its concept: "skanneren" is a scanner in Norwegian
    assert [f.article.id for f in kb_figures.search_articles("scanner").found] == [item.id]
    knowledge.transition(item, "archive", reviewer)
    assert kb_figures.search_articles("mappe").found == []


def test_every_search_is_logged_with_who_what_ticket_results_and_the_article_then_used(setup):
    config, agent, _ = setup
    known = article(agent, "VPN fails from home", resolution="Renew the client certificate.")
    ticket = mail_in(config, "c@example.org", "VPN", "VPN does not connect from home.")
    kb_figures.search_articles("vpn home", user=agent, ticket=ticket)
    row = SearchLog.get()
    assert (row.words, row.user_id, row.ticket_id, row.results, json.loads(row.result_ids)) == (
        "vpn home", agent.id, ticket.id, 1, [known.id])
    assert row.used_article_id is None
    knowledge.link(known, ticket, "reused", agent)
    assert SearchLog.get().used_article_id == known.id


def test_the_gap_report_lists_a_search_that_keeps_finding_nothing(setup):
    _, agent, reviewer = setup
    article(agent, "VPN fails from home")
    kb_figures.search_articles("kvantedatamaskinen krasjer", user=agent)
    assert kb_figures.gaps() == []  # once is not yet a pattern
    kb_figures.search_articles("kvantedatamaskin krasjet", user=reviewer)
    kb_figures.search_articles("vpn", user=agent)
    (gap,) = kb_figures.gaps()
    assert (gap.words, gap.searches, gap.found_nothing) == ("kvantedatamaskin krasjet", 2, 2)
    assert [g.words for g in kb_figures.gaps(min_searches=1)][0] == "kvantedatamaskin krasjet"


def test_gaps_group_rewordings_and_languages_and_close_when_an_article_since_covers_them(setup):
    config, agent, reviewer = setup
    vpn = article(agent, "VPN fails from home", resolution="Renew the client certificate.")
    ticket = mail_in(config, "c@example.org", "Printer", "The printer is offline.")
    for words, who in (("printer offline", agent), ("printer shows offline", reviewer), ("skriver offline", agent),
                       ("password reset", agent), ("сброс пароля", reviewer), ("vpn home", agent),
                       ("vpn from home", reviewer), ("kvantedatamaskin krasjer", agent),
                       ("printer toner", agent)):
        kb_figures.search_articles(words, user=who, ticket=ticket if "printer" in words else None)
    found = {frozenset(gap.wordings): gap for gap in kb_figures.gaps()}
    assert set(found) == {frozenset({"printer offline", "printer shows offline", "skriver offline"}),
                          frozenset({"password reset", "сброс пароля"}),
                          frozenset({"vpn home", "vpn from home"})}
    printer = found[frozenset({"printer offline", "printer shows offline", "skriver offline"})]
    assert (printer.searches, printer.found_nothing, printer.ticket_numbers) == (3, 3, (ticket.number,))
    assert printer.first_at <= printer.last_at and printer.age_days() == 0
    vpn_gap = found[frozenset({"vpn home", "vpn from home"})]
    assert (vpn_gap.found_nothing, vpn_gap.nothing_used) == (0, 2)  # found the article, used it not: still a gap
    article(agent, "Printer shows offline", issue="The printer is offline since the update.",
            resolution="Add the printer again with the vendor driver.")  # written since: covers the first gap
    knowledge.link(vpn, mail_in(config, "d@example.org", "VPN", "VPN from home fails."), "reused", agent)
    assert [set(gap.wordings) for gap in kb_figures.gaps()] == [{"password reset", "сброс пароля"}]


def test_the_agents_searches_for_a_ticket_become_keywords_of_its_draft(setup):
    config, agent, _ = setup
    ticket = mail_in(config, "e@example.org", "Scanner problem", "The scanner puts my scans somewhere odd.")
    kb_figures.search_articles("scan to folder wrong", user=agent, ticket=ticket)
    report = patrol.close(config, ticket, Note(
        situation="Scans from the hall scanner landed in an old network folder.",
        behaviour="Pointed the scan profile at the new file server share and sent a test scan.",
        outcome="Scans arrive in the user's own folder again.", outcome_kind="resolved",
        cause="Scan profiles still named the retired file server", tags=("scanner",)), agent)
    assert report.capture.searched == ("scan to folder wrong",)
    assert Article.get().keyword_list[0] == "scan to folder wrong"


# Suggestions on new tickets -------------------------------------------------------------

def test_a_new_ticket_gets_the_best_matching_articles_drafts_marked_and_none_below_the_floor(setup):
    config, agent, reviewer = setup
    checked = []
    for title in ("Printer prints blank pages", "Printer missing after Windows update", "Printer jams on A3",
                  "Printer offline in the hall"):
        item = article(agent, title, resolution="Steps that work.")
        checked.append(knowledge.transition(item, "validate", reviewer))
    knowledge.transition(checked[3], "publish", reviewer)
    draft = article(agent, "Printer prints blank pages since toner change", resolution="Draft steps.")
    vpn = article(agent, "VPN certificate expired", resolution="Renew it.")
    ticket = mail_in(config, "f@example.org", "printer prints only blank pages",
                     "Our printer prints blank pages, every one of them.")
    rows = list(ArticleSuggestion.select().where(ArticleSuggestion.ticket == ticket.id)
                .order_by(ArticleSuggestion.rank))
    assert 1 <= len(rows) <= 3 and [r.rank for r in rows] == list(range(1, len(rows) + 1))
    assert {rows[0].article_id, rows[1].article_id} == {checked[0].id, draft.id}  # a draft is offered too
    assert vpn.id not in {r.article_id for r in rows} and all(r.score >= 0.40 for r in rows)
    shown = tickets.ticket_detail(ticket)["suggestions"]
    assert [(s["article"], s["rank"]) for s in shown] == [(r.article_id, r.rank) for r in rows]
    assert {s["article"]: s["state"] for s in shown}[draft.id] == "draft"  # marked as one where it is shown


def test_suggestions_are_made_again_when_the_customer_writes_again_and_not_when_turned_off(setup, tmp_path):
    config, agent, reviewer = setup
    printer = knowledge.transition(article(agent, "Printer prints blank pages", resolution="Steps."), "validate",
                                   reviewer)
    vpn = knowledge.transition(article(agent, "VPN certificate expired", resolution="Renew it."), "validate",
                               reviewer)
    first = mail_in(config, "g@example.org", "vpn certificate", "The VPN says its certificate expired.")

    def suggested():
        return [s.article_id for s in ArticleSuggestion.select().where(ArticleSuggestion.ticket == first.id)
                .order_by(ArticleSuggestion.rank)]

    assert suggested() == [vpn.id]
    for sender, body, expected in (("h@example.org", "Printer prints blank pages here too.", [vpn.id]),  # not theirs
                                   ("g@example.org", "Thanks, still the same.", [vpn.id]),  # names no problem
                                   ("g@example.org", "Sorry: the printer prints blank pages.", [printer.id, vpn.id])):
        spool.enqueue(simple_mail(frm=sender, to=SUPPORT, subject=f"Re: vpn certificate [#{first.number}]",
                                  body=body), "test")
        pipeline.drain(config)
        assert suggested() == expected, body
    off = make_config(tmp_path, config.database.url, support={"addresses": [SUPPORT]}, knowledge={"suggest": False})
    quiet = mail_in(off, "i@example.org", "printer blank", "printer blank pages")
    assert ArticleSuggestion.select().where(ArticleSuggestion.ticket == quiet.id).count() == 0


def test_validating_an_article_makes_the_open_tickets_suggestions_again(setup):
    config, agent, reviewer = setup
    waiting = mail_in(config, "j@example.org", "scanner sends to the old folder",
                      "The hall scanner sends my scans to the old network folder.")
    done = mail_in(config, "k@example.org", "scanner sends to the old folder",
                   "The scanner puts scans in the old folder.")
    patrol.close(config, done, Note(situation="Scans from the hall scanner landed in an old folder.",
                                    behaviour="Pointed the scan profile at the new share and sent a test scan.",
                                    outcome="Scans arrive in the new folder again.", outcome_kind="resolved"),
                 agent, new_article=True)
    ArticleSuggestion.delete().execute()
    scanner = article(agent, "Scanner sends scans to the old network folder",
                      issue="Scans land in the old folder.", resolution="Point the scan profile at the new share.")
    knowledge.transition(scanner, "validate", reviewer)
    assert capture.suggest_again(config) == 1  # the open ticket only: a closed one is done
    rows = list(ArticleSuggestion.select().order_by(ArticleSuggestion.rank))
    assert {r.ticket_id for r in rows} == {waiting.id} and scanner.id in {r.article_id for r in rows}
    assert capture.suggest_again(config) == 0  # nothing new: nothing written


# Lifecycle -------------------------------------------------------------------------------

def test_article_lifecycle_allows_and_refuses_each_transition_by_state_and_role(setup):
    _, agent, reviewer = setup
    item = article(agent, "Outlook asks for the password", resolution="Clear the stored credentials.")
    with pytest.raises(NotAllowed, match="only a reviewer"):
        knowledge.transition(item, "validate", agent)
    with pytest.raises(NotAllowed, match="takes an article that is validated"):
        knowledge.transition(item, "publish", reviewer)
    assert knowledge.transition(item, "submit", agent).state == "not_validated"
    with pytest.raises(NotAllowed, match="is not_validated"):
        knowledge.transition(item, "submit", agent)
    assert knowledge.transition(item, "validate", reviewer).state == "validated"
    with pytest.raises(NotAllowed, match="only a reviewer"):
        knowledge.transition(item, "publish", agent)
    assert knowledge.transition(item, "publish", reviewer).state == "published"
    with pytest.raises(NotAllowed, match="published"):
        knowledge.edit_article(item, ArticleText.of(item).replace(resolution="Something else."), agent)
    assert knowledge.transition(item, "unpublish", reviewer).state == "validated"
    with pytest.raises(NotAllowed, match="only a reviewer"):
        knowledge.transition(item, "archive", agent)
    assert knowledge.transition(item, "archive", reviewer).state == "archived"
    with pytest.raises(NotAllowed, match="archived"):
        knowledge.edit_article(item, ArticleText.of(item).replace(title="New title"), reviewer)
    assert knowledge.transition(item, "restore", reviewer).state == "not_validated"
    states = [r.state for r in knowledge.revisions(Article.get_by_id(item.id))]
    assert states == ["draft", "not_validated", "validated", "published", "validated", "archived", "not_validated"]


def test_validation_needs_a_resolution_and_no_open_flag(setup):
    _, agent, reviewer = setup
    item = article(agent, "Calendar missing on the phone")
    with pytest.raises(ArticleRefused) as refused:
        knowledge.transition(item, "validate", reviewer)
    assert set(refused.value.problems) == {"resolution"}
    knowledge.edit_article(item, ArticleText.of(item).replace(resolution="Accept the sharing invitation."), agent)
    flag = knowledge.raise_flag(item, "inaccurate", agent, "the invitation expires after 7 days")
    with pytest.raises(ArticleRefused) as refused:
        knowledge.transition(item, "validate", reviewer)
    assert set(refused.value.problems) == {"flags"}
    with pytest.raises(NotAllowed):
        knowledge.clear_flag(flag, agent, "fine")
    knowledge.clear_flag(flag, reviewer, "added the 7-day limit to step 2")
    assert knowledge.transition(item, "validate", reviewer).validated_by_id == reviewer.id


def test_an_agents_edit_sends_a_validated_article_back_for_validation_and_every_edit_is_a_revision(setup):
    _, agent, reviewer = setup
    item = article(agent, "VPN fails from home", resolution="Renew the certificate.")
    knowledge.transition(item, "validate", reviewer)
    edited = knowledge.edit_article(item, ArticleText.of(item).replace(
        resolution="Renew the certificate.\nThen restart the VPN client."), agent, note="added the restart")
    assert edited.state == "not_validated" and edited.revision == 3
    by_reviewer = knowledge.edit_article(edited, ArticleText.of(edited).replace(title="VPN fails at home"), reviewer)
    assert by_reviewer.state == "not_validated" and by_reviewer.revision == 4
    with pytest.raises(ArticleRefused, match="nothing changed"):
        knowledge.edit_article(by_reviewer, ArticleText.of(by_reviewer), agent)
    revisions = knowledge.revisions(by_reviewer)
    assert [(r.number, r.author_id) for r in revisions] == [(1, agent.id), (2, reviewer.id), (3, agent.id),
                                                            (4, reviewer.id)]
    assert revisions[0].resolution == "Renew the certificate."
    diff = knowledge.diff(by_reviewer, 1, 4)
    assert "-VPN fails from home" in diff and "+VPN fails at home" in diff
    assert "+Then restart the VPN client." in diff
    assert knowledge.diff(by_reviewer, 1, 2) == ""


def test_an_article_without_its_customer_words_is_refused_with_the_field(setup):
    _, agent, _ = setup
    with pytest.raises(ArticleRefused) as refused:
        knowledge.create_article(ArticleText(title=" ", issue=""), agent)
    assert set(refused.value.problems) == {"title", "issue"}
    assert not Article.select().exists()


def test_a_flag_names_its_kind_and_reason(setup):
    _, agent, _ = setup
    item = article(agent, "VPN fails")
    other = article(agent, "VPN does not work")
    with pytest.raises(ArticleRefused) as refused:
        knowledge.raise_flag(item, "boring", agent, "")
    assert set(refused.value.problems) == {"kind", "detail"}
    with pytest.raises(ArticleRefused):
        knowledge.raise_flag(item, "duplicate", agent)
    flag = knowledge.raise_flag(other, "duplicate", agent, duplicate_of=item)
    assert flag.duplicate_of_id == item.id and knowledge.open_flags(other) == [flag]


# Replies from articles ------------------------------------------------------------------

def test_a_validated_article_becomes_a_reply_template_that_links_and_counts_its_use(setup):
    config, agent, reviewer = setup
    item = article(agent, "Skriveren skriver blanke sider", issue="Skriveren skriver bare blanke sider.",
                   resolution="Åpne frontdekselet og trekk ut forseglingsstrimmelen {{ not jinja }}.")
    with pytest.raises(NotAllowed, match="validated"):
        kb_replies.template_from_article(config, item, reviewer)
    knowledge.transition(item, "validate", reviewer)
    template = kb_replies.template_from_article(config, item, reviewer)
    assert (template.name, template.article_id, template.article_revision) == (f"kb-{item.id}", item.id, 2)
    ticket = mail_in(config, "Per Hansen <per@example.no>", "Blanke sider", "Skriveren gir meg blanke ark.")
    queued = kb_replies.reply(config, ticket, template.name, agent)
    row = Outgoing.get_by_id(queued.id)
    assert (row.template, row.template_revision, row.article_id, row.article_revision) == (
        template.name, 1, item.id, 2)
    text = email.message_from_bytes(bytes(row.data)).get_payload(decode=True).decode("utf-8")
    assert "Hei Per Hansen," in text and "forseglingsstrimmelen {{ not jinja }}." in text
    assert "help.example.no" not in text  # not published: no public address yet
    assert Article.get_by_id(item.id).reuse_count == 1
    assert ArticleLink.get(ArticleLink.ticket == ticket.id).kind == "reply"
    knowledge.transition(item, "publish", reviewer)
    second = mail_in(config, "kim@example.no", "Blanke ark", "Bare blanke ark fra skriveren.")
    row = Outgoing.get_by_id(kb_replies.reply(config, second, template.name, agent).id)
    text = email.message_from_bytes(bytes(row.data)).get_payload(decode=True).decode("utf-8")
    assert f"https://help.example.no/articles/{item.id}" in text and text.startswith("Hei,")
    assert Article.get_by_id(item.id).reuse_count == 2


def test_a_changed_article_marks_its_template_for_review(setup):
    config, agent, reviewer = setup
    item = knowledge.transition(article(agent, "VPN fails", resolution="Renew it."), "validate", reviewer)
    template = kb_replies.template_from_article(config, item, reviewer)
    assert kb_replies.stale_templates() == []
    knowledge.edit_article(item, ArticleText.of(item).replace(resolution="Renew it, then restart."), reviewer)
    assert [t.name for t in kb_replies.stale_templates()] == [template.name]
    remade = kb_replies.template_from_article(config, Article.get_by_id(item.id), reviewer)
    assert remade.revision == 2 and not remade.needs_review and "restart" in remade.text
    assert kb_replies.stale_templates() == []


def test_a_reply_can_flag_the_article_it_used_and_a_refused_flag_sends_nothing(setup):
    config, agent, reviewer = setup
    item = knowledge.transition(article(agent, "VPN fails", resolution="Renew it."), "validate", reviewer)
    template = kb_replies.template_from_article(config, item, reviewer)
    ticket = mail_in(config, "i@example.org", "VPN", "The VPN fails.")
    with pytest.raises(ArticleRefused):
        kb_replies.reply(config, ticket, template.name, agent, flag=kb_replies.Flag("wrong", ""))
    assert not Outgoing.select().where(Outgoing.kind == "reply").exists() and not ArticleLink.select().exists()
    kb_replies.reply(config, ticket, template.name, agent, flag=kb_replies.Flag("outdated", "menu renamed"))
    assert [(f.kind, f.detail) for f in knowledge.flag_queue()] == [("outdated", "menu renamed")]


def test_an_article_template_with_braces_in_every_form_still_renders_them_as_written(setup):
    config, agent, reviewer = setup
    text = "Run {% endraw %} then {{ x }} and {# y #}."
    item = knowledge.transition(article(agent, "Braces", resolution=text), "validate", reviewer)
    template = kb_replies.template_from_article(config, item, reviewer)
    ticket = mail_in(config, "j@example.org", "Braces", "Braces!")
    row = Outgoing.get_by_id(kb_replies.reply(config, ticket, template.name, agent).id)
    assert text in email.message_from_bytes(bytes(row.data)).get_payload(decode=True).decode("utf-8")


# Reuse is review ---------------------------------------------------------------------------

def test_tickets_that_reopen_count_against_their_article_and_two_flag_it(setup):
    config, agent, _ = setup
    known = article(agent, "VPN fails from home", resolution="Renew the certificate.")
    closing = Note(situation="VPN did not connect from the customer's home office.",
                   behaviour="Renewed the client certificate following the article.",
                   outcome="The VPN connects again after the renewal.", outcome_kind="resolved")
    for n, sender in enumerate(("k@example.org", "l@example.org"), start=1):
        ticket = mail_in(config, sender, "VPN", "VPN does not connect from home.")
        patrol.close(config, ticket, closing, agent, article=known)
        mail_in(config, sender, f"Re: VPN [#{ticket.number}]", "It fails again.")
        assert Ticket.get_by_id(ticket.id).status == "open"
        assert Article.get_by_id(known.id).reopen_count == n
    (flag,) = knowledge.flag_queue()
    assert flag.kind == "reopened" and flag.raised_by_id is None and "2 tickets came back" in flag.detail
    again = Ticket.get_by_id(ticket.id)
    patrol.close(config, again, closing, agent, article=known)
    mail_in(config, "l@example.org", f"Re: VPN [#{again.number}]", "And again.")
    assert Article.get_by_id(known.id).reopen_count == 3
    assert ArticleFlag.select().count() == 1  # one open flag says it; no pile of them


# Figures ------------------------------------------------------------------------------------

def test_the_report_gives_link_rate_reuse_vs_create_and_sbo_completeness(setup):
    config, agent, reviewer = setup
    items = [t for t in kb_corpus.TICKETS if t.problem == kb_corpus.TICKETS[0].problem]
    for item in items:
        close_as_an_agent(config, corpus_ticket(config, item), item, agent)
    lone = mail_in(config, "m@example.org", "Hello?", "Anyone?")
    patrol.close(config, lone, Note(situation="The customer asked whether we got the mail.",
                                    behaviour="Asked what the problem was, twice, in a week.",
                                    outcome="No answer came back, so the ticket closed.",
                                    outcome_kind="no-response"), reviewer)
    item = Article.get()
    knowledge.edit_article(item, ArticleText.of(item).replace(cause="Better cause."), agent)
    knowledge.raise_flag(item, "outdated", reviewer, "new toner model")
    figures = kb_figures.performance()
    kari, olga = figures["agents"]["kari"], figures["agents"]["olga"]
    assert (kari["closed"], kari["linked"], kari["link_rate"], kari["created"], kari["reused"]) == (3, 3, 1.0, 1, 2)
    assert kari["reuse_vs_create"] == 2.0 and kari["improved"] == 1 and kari["sbo_completeness"] == 1.0
    assert (olga["closed"], olga["linked"], olga["flagged"], olga["sbo_completeness"]) == (1, 0, 1, 0.0)
    assert figures["team"]["link_rate"] == 0.75
    (health,) = kb_figures.article_health()  # flags: the one raised, and drafting's rewrite (a copied account)
    assert (health["reuse_count"], health["open_flags"], health["days_since_validation"]) == (2, 2, None)
    assert health["last_used_at"] is not None


def test_sbo_completeness_is_the_share_of_closing_notes_with_a_cause_and_tags(setup):
    config, agent, _ = setup
    base = {"situation": "The customer could not print from the hall printer.",
            "behaviour": "Checked the queue and restarted the print spooler.",
            "outcome": "Printing works again after the restart.", "outcome_kind": "resolved"}
    for n, more in enumerate(({"cause": "A stuck print job", "tags": ("printer",)}, {"cause": "A stuck print job"},
                              {"tags": ("printer",)}, {})):
        patrol.close(config, mail_in(config, f"s{n}@example.org", f"Printing {n}", "Nothing prints."),
                     Note(**base, **more), agent)
    # Counting S, B and O (always there) with cause and tags would make this (5 + 4 + 4 + 3) / 20 = 0.8.
    assert kb_figures.performance()["agents"]["kari"]["sbo_completeness"] == 0.25


def test_document_frequencies_count_the_articles_holding_each_term(setup):
    _, agent, _ = setup
    article(agent, "Printer blank pages", issue="blank blank")
    article(agent, "Printer offline")
    frequencies = search.document_frequencies(["printer", "blank", "absent"])
    assert frequencies == {"printer": 2, "blank": 1}
    assert search.documents() == 2
    assert ArticleRevision.select().count() == 2 and ReplyTemplate.select().count() == 0


def test_forcing_a_draft_takes_back_the_reuse_the_close_recorded(setup):
    config, agent, _ = setup
    item = kb_corpus.TICKETS[0]
    close_as_an_agent(config, corpus_ticket(config, item), item, agent)
    twin = next(t for t in kb_corpus.TICKETS[1:] if t.problem == item.problem)
    second = corpus_ticket(config, twin)
    report = patrol.close(config, second, note_of(twin), agent)
    assert report.capture.action == "reused" and Article.get().reuse_count == 1
    forced = capture.draft_for_ticket(config, second, agent, force=True)
    assert forced.action == "drafted"
    assert Article.get_by_id(report.capture.article.id).reuse_count == 0
    assert [(link.article_id, link.kind) for link in knowledge.articles_of_ticket(second)] == [
        (forced.article.id, "created")]


# What a review of the first version found -----------------------------------------------

def test_a_long_first_mail_still_drafts_its_article_with_the_cut_marked(setup):
    config, agent, _ = setup
    log_lines = "\n".join(f"2026-11-30 10:{n % 60:02d} spooler error 0x{n:08x} on queue HALL" for n in range(900))
    ticket = mail_in(config, "n@example.org", "Spooler crashes",
                     f"The spooler crashes every hour. Here is the log:\n\n{log_lines}")
    report = patrol.close(config, ticket, Note(
        situation="The print spooler crashed every hour on the hall print server.",
        behaviour="Removed the corrupt job files from the spool folder and restarted the spooler service.",
        outcome="No crash since; a corrupt job had been retried every hour.", outcome_kind="resolved"), agent)
    assert report.capture.action == "drafted"
    drafted = Article.get()
    assert drafted.issue.startswith("The spooler crashes every hour.") and drafted.issue.endswith("[…]")
    assert len(drafted.issue) <= 4100


def test_the_support_teams_own_name_is_not_taken_out_of_articles(setup, tmp_path):
    config, agent, _ = setup
    named = make_config(tmp_path, config.database.url, support={"addresses": [SUPPORT], "name": "Printer Help"})
    ticket = mail_in(named, "o@example.org", "Printer offline", "The printer in the hall shows offline.")
    report = patrol.close(named, ticket, Note(
        situation="The hall printer showed offline for everyone on the floor.",
        behaviour="Switched the printer's network port back to DHCP and re-added it.",
        outcome="The printer is online again after the address change.", outcome_kind="resolved"), agent)
    drafted = Article.get_by_id(report.capture.article.id)
    assert "[name]" not in drafted.resolution and "printer" in drafted.resolution.lower()


def test_closing_a_ticket_answered_from_an_article_links_that_article_and_drafts_nothing(setup):
    config, agent, reviewer = setup
    item = knowledge.transition(article(agent, "VPN fails from home", resolution="Renew the certificate."),
                                "validate", reviewer)
    template = kb_replies.template_from_article(config, item, reviewer)
    ticket = mail_in(config, "p@example.org", "Cannot reach the office", "Remote access to the office is broken.")
    kb_replies.reply(config, ticket, template.name, agent)
    report = patrol.close(config, ticket, Note(
        situation="Remote access did not work for the customer at home.",
        behaviour="Sent the certificate renewal steps; the customer followed them.",
        outcome="Remote access works again after the renewal.", outcome_kind="resolved"), agent)
    assert (report.capture.action, report.capture.article.id) == ("linked", item.id)
    assert Article.select().count() == 1
    assert ArticleLink.get(ArticleLink.ticket == ticket.id).report_id == report.id
    mail_in(config, "p@example.org", f"Re: Cannot reach the office [#{ticket.number}]", "Broken again.")
    assert Article.get_by_id(item.id).reopen_count == 1


def test_only_reviewers_make_templates_and_never_over_another_template(setup):
    config, agent, reviewer = setup
    item = knowledge.transition(article(agent, "VPN fails", resolution="Renew it."), "validate", reviewer)
    other = knowledge.transition(article(agent, "Calendar missing", resolution="Accept it."), "validate", reviewer)
    with pytest.raises(NotAllowed, match="only a reviewer"):
        kb_replies.template_from_article(config, item, agent)
    with pytest.raises(NotAllowed, match="built-in"):
        kb_replies.template_from_article(config, item, reviewer, name="acknowledgement")
    kb_replies.template_from_article(config, other, reviewer)
    with pytest.raises(NotAllowed, match="was not made from article"):
        kb_replies.template_from_article(config, item, reviewer, name=f"kb-{other.id}")


def test_a_withdrawn_article_stops_its_template_and_marks_it_for_review(setup):
    config, agent, reviewer = setup
    item = knowledge.transition(article(agent, "VPN fails", resolution="Renew it."), "validate", reviewer)
    template = kb_replies.template_from_article(config, item, reviewer)
    knowledge.transition(item, "archive", reviewer)
    assert [t.name for t in kb_replies.stale_templates()] == [template.name]
    ticket = mail_in(config, "q@example.org", "VPN", "The VPN fails.")
    with pytest.raises(NotAllowed, match="now archived"):
        kb_replies.reply(config, ticket, template.name, agent)
    assert not Outgoing.select().where(Outgoing.kind == "reply").exists()
    with pytest.raises(NotAllowed, match="archived"):
        patrol.close(config, ticket, Note(situation="The VPN failed for the customer at home.",
                                          behaviour="Renewed the certificate as the old article said.",
                                          outcome="The VPN works again after the renewal.",
                                          outcome_kind="resolved"), agent, article=item)


def test_every_mail_from_a_stored_template_records_the_templates_revision(setup):
    config, agent, _ = setup
    from daemon.outbound import replies
    replies.save_template(config, "acknowledgement", "Mottatt {{ ticket.reference }}", "Vi har fått saken.")
    replies.save_template(config, "acknowledgement", "Mottatt! {{ ticket.reference }}", "Vi har fått saken din.")
    mail_in(config, "r@example.org", "Hjelp", "Noe er galt.")
    ack = Outgoing.get(Outgoing.kind == "acknowledgement")
    assert (ack.template, ack.template_revision) == ("acknowledgement", 2)


def test_people_cannot_raise_the_systems_reopened_flag(setup):
    _, agent, _ = setup
    with pytest.raises(ArticleRefused) as refused:
        knowledge.raise_flag(article(agent, "VPN fails"), "reopened", agent, "I say so")
    assert "system" in refused.value.problems["kind"]


def test_a_lifecycle_change_keeps_the_reuse_counted_meanwhile(setup):
    config, agent, reviewer = setup
    item = article(agent, "VPN fails", resolution="Renew it.")
    stale = Article.get_by_id(item.id)
    knowledge.link(item, mail_in(config, "s@example.org", "VPN", "VPN fails."), "reused", agent)
    knowledge.transition(stale, "validate", reviewer)
    knowledge.edit_article(stale, ArticleText.of(stale).replace(resolution="Renew it, then restart."), reviewer)
    assert Article.get_by_id(item.id).reuse_count == 1


def test_reindexing_rebuilds_search_frequencies_and_suggestions_as_they_were(setup):
    config, agent, reviewer = setup
    checked = knowledge.transition(article(agent, "Printer prints blank pages", resolution="Pull the seal."),
                                   "validate", reviewer)
    article(agent, "Printer offline in the hall", resolution="Re-add it.")
    before = (search.document_frequencies(["printer", "blank", "seal"]),
              db.execute('SELECT count(*) FROM "article_term"').fetchone()[0])
    db.execute('DELETE FROM "article_term"')
    db.execute('DELETE FROM "term_frequency"')
    assert knowledge.reindex_all() == 2
    assert (search.document_frequencies(["printer", "blank", "seal"]),
            db.execute('SELECT count(*) FROM "article_term"').fetchone()[0]) == before
    assert [h.article_id for h in search.suggest("blank pages", "", 3)] == [checked.id]
    assert {f.article.title for f in kb_figures.search_articles("printer").found} == {
        "Printer prints blank pages", "Printer offline in the hall"}
