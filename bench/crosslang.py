"""Finding one problem across languages: the corpus replay, and what detection and suggestion cost in ingest.

Replay: the articles of tests/crosslang_corpus.py, every variant validated,
then each customer mail through the ingest pipeline (language stage and
suggestions on). Per mail: was its problem's article among the suggestions
stored on the new ticket; among the first 5 hits of `kb search` with the
mail's subject; and would capture-on-close link the ticket to an article
(best match at or above [knowledge] match_percent), and was it the right
one. Same-language (the article has a variant in the mail's language) and
cross-language mails are counted apart.

HELD_OUT mails, written after the lexicon was frozen, are counted apart.

Cost: the same mails, replies to half of them, and generated mail (a third
of it replies) through the pipeline over a base of generated checked
articles, with the language and suggest stages on and off in alternating
rounds; the difference per mail in milliseconds, and the suggest stage's own
time per new ticket and per customer reply (a reply refreshes the ticket's
suggestions).
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from unittest import mock

from bench.knowledge import build_base
from bench.mailgen import corpus as generated_mails
from daemon import knowledge
from daemon.config import load_config
from daemon.ingest import pipeline
from daemon.ingest.sources import spool
from daemon.knowledge import ArticleText, add_variant, create_article, transition
from daemon.knowledge import figures as kb_figures, words
from daemon.knowledge.capture import best_match
from daemon.people.users import create_user
from daemon.store import db
from daemon.store.models import ArticleSuggestion, Ticket
from tests.corpus import simple_mail
from tests.crosslang_corpus import HELD_OUT, MAILS, PROBLEMS, cross_language

SUPPORT = "support@helpdesk.example"
_TIMED_STAGES = ("language", "suggest")


def _config(folder: str, url: str | None = None):
    base = load_config(None, {})
    return dataclasses.replace(
        base, database=dataclasses.replace(base.database, url=url or f"sqlite:///{folder}/kb.db"),
        paths=dataclasses.replace(base.paths, var=f"{folder}/var"),
        support=dataclasses.replace(base.support, addresses=[SUPPORT]))


def build_articles() -> dict[str, int]:
    """Each problem's article, every variant validated; {problem: article id}."""
    reviewer = create_user("reviewer", "reviewer", "korrekt-hest-batteri-stall", name="Rita Reviewer")
    found = {}
    for problem in PROBLEMS:
        first, *more = problem.variants
        article = create_article(_text(first), reviewer, language=first.language)
        for variant in more:
            add_variant(article, variant.language, _text(variant), reviewer)
        for variant in problem.variants:
            transition(article, "validate", reviewer, language=variant.language)
        found[problem.key] = article.id
    return found


def _text(variant) -> ArticleText:
    return ArticleText(title=variant.title, issue=variant.issue, resolution=variant.resolution,
                       cause=variant.cause, keywords=variant.keywords)


def replay(config) -> dict:
    """The corpus through the pipeline, search and capture on the open database; the figures."""
    articles = build_articles()
    tally = {side: {"mails": 0, "suggested": 0, "searched": 0, "captured": 0, "wrong_links": 0}
             for side in ("same_language", "cross_language", "held_out_cross_language")}
    misses = []
    for n, (mail, held_out) in enumerate([(m, False) for m in MAILS] + [(m, True) for m in HELD_OUT]):
        expected = articles[mail.problem]
        side = tally["held_out_cross_language" if held_out else
                     "cross_language" if cross_language(mail) else "same_language"]
        side["mails"] += 1
        spool.enqueue(simple_mail(frm=mail.sender, to=SUPPORT, subject=mail.subject, body=mail.body,
                                  message_id=f"crosslang{n}@example.org"), "bench")
        (result,) = pipeline.drain(config)
        ticket = Ticket.by_number(result.ticket)
        suggested = [s.article_id for s in ArticleSuggestion.select().where(ArticleSuggestion.ticket == ticket.id)
                     .order_by(ArticleSuggestion.rank)]
        searched = [f.article.id for f in kb_figures.search_articles(mail.subject, limit=5, log=False).found]
        linked, score = best_match(f"{mail.subject}\n{mail.body}")
        # Linked without asking: at link_percent (between match_percent and it, the agent is asked first).
        links = linked is not None and score * 100 >= max(config.knowledge.link_percent, config.knowledge.match_percent)
        side["suggested"] += expected in suggested
        side["searched"] += expected in searched
        side["captured"] += links and linked.id == expected
        side["wrong_links"] += links and linked.id != expected
        if links and linked.id != expected:
            misses.append({"problem": mail.problem, "language": mail.language, "subject": mail.subject,
                           "wrongly_linked_to": linked.id, "score": round(score, 3)})
        if expected not in suggested or expected not in searched:
            misses.append({"problem": mail.problem, "language": mail.language, "subject": mail.subject,
                           "suggested": expected in suggested, "searched": expected in searched,
                           "held_out": held_out})
    figures = {}
    for name, side in tally.items():
        count = side["mails"] or 1
        figures[name] = {"mails": side["mails"], "suggestion_hit_rate": round(side["suggested"] / count, 3),
                         "search_hit_rate_top5": round(side["searched"] / count, 3),
                         "capture_linked_right": round(side["captured"] / count, 3),
                         "wrong_automatic_links": side["wrong_links"]}
    return {"problems": len(PROBLEMS), "mails": len(MAILS), **figures, "misses": misses}


def corpus_replay(lexicon: bool = True) -> dict:
    """The replay on a new SQLite base; without `lexicon`, the method it replaces: words shared as
    written (product names, error codes) are all that cross languages."""
    with tempfile.TemporaryDirectory() as tmp, _lexicon(lexicon):
        config = _config(tmp)
        db.open_database(config)
        db.upgrade()
        try:
            figures = replay(config)
        finally:
            db.database.close()
    return {"benchmark": "crosslang_corpus", "database": "sqlite",
            "method": "stems + concept lexicon" if lexicon else "shared words only", **figures,
            "targets": {"cross_language_suggestion_hit_rate": 0.8, "same_language_suggestion_hit_rate": 0.95,
                        "wrong_automatic_links": 0}}


@contextlib.contextmanager
def _lexicon(on: bool):
    if on:
        yield
        return
    caches = (words._word, words._content_keys)
    for cache in caches:
        cache.cache_clear()
    with mock.patch.object(words, "_lexicon", lambda: ({}, {})):
        yield
    for cache in caches:
        cache.cache_clear()


def ingest_cost(mails: int = 2_000, articles: int = 5_000, rounds: int = 3) -> dict:
    """Milliseconds per mail that the language and suggest stages add to ingest: alternating rounds
    with both off and both on, over the same base (the corpus' articles and `articles` generated ones).
    `mails` in all, new tickets and customers' replies (see _cost_mails); the suggest stage's own time
    is also told per new ticket and per reply, and how many replies stored their suggestions again."""
    raw = _cost_mails(mails)
    seconds: dict[bool, list[float]] = {False: [], True: []}
    seen: list[_Round] = []  # the rounds on
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        db.open_database(_config(str(base)))
        db.upgrade()
        build_articles()
        build_base(articles, "validated")
        db.database.close()
        for n in range(rounds):
            for on in ((False, True) if n % 2 == 0 else (True, False)):
                done = _round(Path(tmp) / f"round{n}{int(on)}", base, raw, on)
                seconds[on].append(done.elapsed)
                if on:
                    seen.append(done)
    off, on = statistics.median(seconds[False]), statistics.median(seconds[True])
    last = seen[-1]  # the same mails over the same base: every round files them alike
    new, replies = last.outcomes["created"], last.outcomes["threaded"]
    return {"benchmark": "crosslang_ingest_cost", "database": "sqlite", "mails": len(raw),
            "articles": articles + len(PROBLEMS), "rounds": rounds,
            "ms_per_mail_off": round(off * 1000 / len(raw), 3), "ms_per_mail_on": round(on * 1000 / len(raw), 3),
            "detection_and_suggestion_ms_per_mail": round((on - off) * 1000 / len(raw), 3),
            **{f"{name}_stage_own_ms_per_mail": _median_ms(seen, name, None, len(raw)) for name in _TIMED_STAGES},
            "new_tickets": new, "replies": replies,
            "suggest_stage_ms_per_new_ticket": _median_ms(seen, "suggest", "created", new),
            "suggest_stage_ms_per_reply": _median_ms(seen, "suggest", "threaded", replies),
            "replies_refreshed": last.refreshed, "replies_changed_suggestions": last.changed,
            "target_ms_per_mail": 1.0}


def _cost_mails(count: int) -> list[bytes]:
    """`count` mails in spool order: generated ones (a third of them replies, some auto-replies the loop
    guard drops), then the corpus' mails, then a reply to every other one of those. Each reply comes after
    the mail it answers, as it would arrive: a reply spooled first would wait for its parent."""
    firsts = [simple_mail(frm=m.sender, to=SUPPORT, subject=m.subject, body=m.body, message_id=_cost_id(n))
              for n, m in enumerate(MAILS)]
    replies = [_reply(n, m) for n, m in enumerate(MAILS) if n % 2 == 0]
    return generated_mails(count - len(firsts) - len(replies)) + firsts + replies


def _cost_id(n: int) -> str:
    return f"cost{n}@example.org"


def _reply(n: int, mail) -> bytes:
    """The customer writing again about corpus mail `n`: its problem told anew (in the words of another
    customer with it, in the same language when there is one), above the quoted first mail, so that the
    refresh has a problem to search for."""
    others = [m for m in MAILS if m.problem == mail.problem and m is not mail]
    again = next((m for m in others if m.language == mail.language), others[0])
    quoted = "\n".join("> " + line for line in mail.body.splitlines())
    return simple_mail(frm=mail.sender, to=SUPPORT, subject="Re: " + mail.subject,
                       body=f"{again.body}\n\n{mail.sender} wrote:\n{quoted}\n",
                       message_id=f"cost{n}-reply@example.org", in_reply_to=_cost_id(n), references=_cost_id(n))


@dataclasses.dataclass
class _Round:
    """One round: its seconds; what became of its mails (created, threaded, ignored...); with the stages
    on, each timed stage's seconds by what the mail was (a new ticket or a reply), and the replies that
    stored their ticket's suggestions again, and of those the ones whose articles changed."""
    elapsed: float
    outcomes: collections.Counter
    spent: collections.Counter  # seconds, by (stage, ctx.outcome)
    refreshed: int = 0
    changed: int = 0


def _median_ms(rounds: list[_Round], stage: str, outcome: str | None, per: int) -> float:
    """The median over `rounds` of the stage's milliseconds (for mails of that outcome, or all) per `per`."""
    if not per:
        return 0.0
    return round(statistics.median(
        sum(s for (name, kind), s in r.spent.items() if name == stage and outcome in (None, kind))
        for r in rounds) * 1000 / per, 3)


def _round(folder: Path, base: Path, raw: list[bytes], on: bool) -> _Round:
    """The pipeline over `raw` on a copy of `base`: its seconds, and (rounds on) the timed stages' share."""
    shutil.copytree(base, folder)
    config = _config(str(folder))
    db.open_database(config)
    for data in raw:
        spool.enqueue(data, "bench")
    saved = {name: pipeline._RUN[name] for name in _TIMED_STAGES}
    done = _Round(0.0, collections.Counter(), collections.Counter())

    def timed(name, stage):
        def run(ctx) -> None:
            began = time.perf_counter()
            stage(ctx)
            # the ticket stage has said whether the mail opened a ticket or threaded into one
            done.spent[name, ctx.outcome] += time.perf_counter() - began
        return run
    # the stages measured: taken out of this round, or timed in it
    pipeline._RUN.update({name: timed(name, saved[name]) if on else (lambda ctx: None) for name in _TIMED_STAGES})
    try:
        with mock.patch.object(knowledge, "store_suggestions", _counting(knowledge.store_suggestions, done)):
            started = time.perf_counter()
            done.outcomes.update(result.outcome for result in pipeline.drain(config))
            done.elapsed = time.perf_counter() - started
    finally:
        pipeline._RUN.update(saved)
        db.database.close()
        shutil.rmtree(folder)
    return done


def _counting(store, done: _Round):
    """`store` (the suggest stage's store_suggestions), counting into `done` the replies that store again.
    Each ticket's articles are kept here as they are stored, so a change costs no query to see."""
    held: dict[int, list[int]] = {}

    def record(ticket_id: int, hits: list, replace: bool = False) -> None:
        now = [hit.article_id for hit in hits]
        if replace:  # only a reply replaces: a new ticket has none
            done.refreshed += 1
            done.changed += now != held.get(ticket_id, [])
        held[ticket_id] = now
        store(ticket_id, hits, replace)
    return record
