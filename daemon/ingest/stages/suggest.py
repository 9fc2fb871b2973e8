"""Store the best matching checked articles on a new ticket, for the agent who opens it.

Inside the ingest transaction, so it reads only the precomputed weights of
checked articles' telling words (daemon.knowledge.suggest): bounded work per
new ticket, whatever the size of the base. Only validated and published
articles are offered: a draft has not been checked by anyone yet. The mail's
words are read in the language the language stage found, and meet an
article's in any language through the concepts they share.
"""
from daemon import knowledge
from daemon.store import db
from daemon.store.models import ArticleSuggestion

_BODY_CHARS = 2000  # the start of the mail says what it is about; a long log pasted below adds little


def run(ctx) -> None:
    cfg = ctx.config.knowledge
    if ctx.outcome != "created" or ctx.automatic or not cfg.suggest or not _any_indexed():
        return
    detected = getattr(ctx, "language", None)  # the language stage's finding, if it ran and could tell
    hits = knowledge.suggest(ctx.mail.subject, ctx.mail.visible_text[:_BODY_CHARS], cfg.suggestions,
                             language=detected.language if detected is not None else "")
    for rank, hit in enumerate(hits, start=1):
        db.insert_fast(ArticleSuggestion, ticket=ctx.ticket.id, article=hit.article_id, rank=rank, score=hit.score)


def _any_indexed() -> bool:
    return db.execute('SELECT 1 FROM "article_term" LIMIT 1').fetchone() is not None
