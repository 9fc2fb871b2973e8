"""The KCS replay: tests/kb_corpus.py worked by an agent who uses only what the tool shows.

Each of the corpus's tickets (twelve problems, three languages, three
customers each, in interleaved order) comes in through the ingest pipeline.
The agent reads the suggestions stored on it, searches the knowledge base
with the ticket's subject (logged for the ticket, as the console does), and
closes it with the corpus's SBO note and steps for the customer. When
closing asks about articles, the agent names the one written for this
problem if it is offered, else asks for a draft.

Figures: drafts made against the distinct problems; links made without
asking, and how many went to another problem's article; questions asked,
and how many offered the right article; suggestions shown, right and
noise (shown for another problem), and the tickets whose problem already had an
article that got it among their suggestions; the open gap groups at the end,
and how many mix problems. With the default [knowledge] settings on SQLite.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time

from bench.crosslang import _config
from daemon.ingest import pipeline
from daemon.ingest.sources import spool
from daemon.knowledge import ChooseArticle
from daemon.knowledge import figures as kb_figures
from daemon.patrol import logbook as patrol
from daemon.patrol.logbook import Note
from daemon.people.users import create_user
from daemon.store import db
from daemon.store.models import ArticleSuggestion, Ticket
from tests import kb_corpus
from tests.corpus import simple_mail

SUPPORT = "support@helpdesk.example"


def replay() -> dict:
    """Replay the corpus on a fresh SQLite database; the figures as a dict."""
    with tempfile.TemporaryDirectory(prefix="patroldesk-kcs-") as folder:
        config = _config(folder)
        handle = db.open_database(config)
        try:
            db.upgrade()
            return _replay(config)
        finally:
            handle.close()


def _replay(config) -> dict:
    agent = create_user("kari", "agent", "korrekt-hest-batteri-stall", name="Kari Nordmann")
    began = time.perf_counter()
    article_of: dict[str, int] = {}  # problem -> the article drafted for it
    tally = {"tickets": 0, "drafts": 0, "automatic_links": 0, "wrong_automatic_links": 0, "asked": 0,
             "asked_offering_the_right_article": 0, "suggestions_shown": 0, "suggestions_right": 0,
             "tickets_with_a_known_problem": 0, "known_problem_suggested": 0}
    for n, item in enumerate(kb_corpus.TICKETS):
        spool.enqueue(simple_mail(frm=f"{item.customer_name} <{item.customer_email}>", to=SUPPORT,
                                  subject=item.subject, body=item.body, message_id=f"kcs{n}@example.org"), "bench")
        (result,) = pipeline.drain(config)
        ticket = Ticket.by_number(result.ticket)
        tally["tickets"] += 1
        shown = [row.article_id for row in ArticleSuggestion.select().where(ArticleSuggestion.ticket == ticket.id)]
        right = article_of.get(item.problem)
        tally["suggestions_shown"] += len(shown)
        tally["suggestions_right"] += right in shown
        if right is not None:
            tally["tickets_with_a_known_problem"] += 1
            tally["known_problem_suggested"] += right in shown
        kb_figures.search_articles(item.subject, user=agent, ticket=ticket, origin="console")
        capture = _close(config, ticket, item, agent, article_of, tally)
        if capture.action == "drafted":
            tally["drafts"] += 1
            article_of.setdefault(item.problem, capture.article.id)
        elif capture.action == "reused":
            tally["automatic_links"] += 1
            tally["wrong_automatic_links"] += capture.article.id != right
    gaps = kb_figures.gaps(min_searches=1, limit=100)
    problem_of = {t.subject: t.problem for t in kb_corpus.TICKETS}
    mixed = [gap for gap in gaps if len({problem_of.get(w) for w in gap.wordings}) > 1]
    shown = tally["suggestions_shown"]
    return {"benchmark": "kcs_replay", "problems": len(kb_corpus.PROBLEMS), **tally,
            "drafts_equal_problems": tally["drafts"] == len(kb_corpus.PROBLEMS),
            "suggestion_noise": round((shown - tally["suggestions_right"]) / shown, 3) if shown else None,
            "known_problem_suggestion_rate": round(tally["known_problem_suggested"]
                                                   / tally["tickets_with_a_known_problem"], 3)
            if tally["tickets_with_a_known_problem"] else None,
            "open_gap_groups": len(gaps), "gap_groups_mixing_problems": len(mixed),
            "link_percent": config.knowledge.link_percent, "match_percent": config.knowledge.match_percent,
            "suggest_floor": config.knowledge.suggest_floor, "seconds": round(time.perf_counter() - began, 2)}


def _close(config, ticket, item, agent, article_of: dict, tally: dict):
    note = Note(situation=item.situation, behaviour=item.behaviour, outcome=item.outcome,
                outcome_kind=item.outcome_kind, cause=item.cause, tags=item.tags)
    try:
        return patrol.close(config, ticket, note, agent, notify=False).capture
    except ChooseArticle as question:
        tally["asked"] += 1
        offered = [article for article, _ in question.candidates]
        mine = [article for article in offered if article.id == article_of.get(item.problem)]
        tally["asked_offering_the_right_article"] += bool(mine)
        if mine:
            return patrol.close(config, ticket, note, agent, notify=False, article=mine[0]).capture
        return patrol.close(config, ticket, note, agent, notify=False, new_article=True).capture


if __name__ == "__main__":
    print(json.dumps(replay()), flush=True)
    sys.exit(0)
