"""Store the best matching articles on a ticket, for the agent who opens it: when it is new, and again
when the customer writes again (what they add may name the problem better).

Inside the ingest transaction, so it reads only the precomputed weights of
live articles' telling words (daemon.knowledge.suggest): bounded work per
mail, whatever the size of the base. Drafts and articles not validated yet
are offered too, marked as such where they are shown; a match scoring below
[knowledge] suggest_floor is not offered at all. The mail's words are read
in the language the language stage found, and meet an article's in any
language through the concepts they share.
"""
from daemon import knowledge
from daemon.store import db


def run(ctx) -> None:
    cfg = ctx.config.knowledge
    if ctx.outcome not in ("created", "threaded") or ctx.automatic or not cfg.suggest:
        return
    if not _any_indexed():
        return
    if ctx.outcome == "threaded" and (ctx.message is None or not _from_the_customer(ctx)):
        return
    detected = getattr(ctx, "language", None)  # the language stage's finding, if it ran and could tell
    hits = knowledge.suggestions_for(ctx.config, ctx.mail.subject, ctx.mail.visible_text,
                                     detected.language if detected else "")
    if ctx.outcome == "threaded" and not hits:
        return  # "thanks, still broken" names no problem: the suggestions stand
    knowledge.store_suggestions(ctx.ticket.id, hits, replace=ctx.outcome == "threaded")


def _from_the_customer(ctx) -> bool:
    requester = ctx.ticket.requester_id
    return ctx.sender is not None and db.execute(
        'SELECT 1 FROM "customer" WHERE "id" = ? AND "email" = ?', (requester, ctx.sender.key)).fetchone() is not None


def _any_indexed() -> bool:
    return db.execute('SELECT 1 FROM "article_term" LIMIT 1').fetchone() is not None
