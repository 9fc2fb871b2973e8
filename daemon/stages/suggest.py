"""Store the best matching checked articles on a new ticket, for the agent who opens it.

Inside the ingest transaction, so it costs one full-text query per new
ticket; BM25 weighs the words itself, so the query is just the subject's
words and the body's most frequent ones. Only validated and published
articles are offered: a draft has not been checked by anyone yet.
"""
from collections import Counter

from daemon import db, search, words
from daemon.knowledge import CHECKED_STATES
from daemon.models import ArticleSuggestion

_BODY_CHARS = 4000  # the start of the mail says what it is about; a long log pasted below adds little
_BODY_WORDS = 16


def run(ctx) -> None:
    cfg = ctx.config.knowledge
    if ctx.outcome != "created" or ctx.automatic or not cfg.suggest or not _any_checked():
        return
    for rank, hit in enumerate(search.match(_groups(ctx.mail.subject, ctx.mail.visible_text),
                                            CHECKED_STATES, cfg.suggestions, every=False), start=1):
        db.insert_fast(ArticleSuggestion, ticket=ctx.ticket.id, article=hit.article_id, rank=rank, score=hit.score)


def _any_checked() -> bool:
    marks = ", ".join("?" * len(CHECKED_STATES))
    return db.execute(f'SELECT 1 FROM "article" WHERE "state" IN ({marks}) LIMIT 1', CHECKED_STATES).fetchone() \
        is not None


def _groups(subject: str, body: str) -> list[tuple[str, ...]]:
    chosen = dict.fromkeys(words.query_groups(subject))
    frequent = Counter(w.terms for w in words.content_words(body[:_BODY_CHARS]))
    for group, _ in frequent.most_common(_BODY_WORDS):
        chosen.setdefault(group)
    return list(chosen)
