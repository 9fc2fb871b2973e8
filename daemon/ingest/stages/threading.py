"""Find the ticket a mail belongs to, and say which signal proved it.

Headers first (In-Reply-To, then References), the subject tag second, and
the tag only from someone who already took part in that ticket: a tag from
a stranger opens a new ticket that records the reference it claimed.
Automatic mail that answers no ticket opens nothing.
"""
from daemon import tickets
from daemon.errors import Discard
from daemon.outbound import ticket_of_message_id
from daemon.store import db
from daemon.store.models import Ticket

# The nearest References are the ones that matter; a mail listing thousands is hostile.
MAX_REFERENCES = 50


def run(ctx) -> None:
    cfg = ctx.config.threading
    candidates = _header_candidates(ctx.mail, cfg)
    ctx.ticket, ctx.signal = _by_headers(candidates)
    if ctx.ticket is None:
        ctx.ticket, ctx.signal = _by_our_signed_ids(candidates, ctx.config)
    if ctx.ticket is None and cfg.subject_tag:
        _by_subject_tag(ctx, cfg.tag_format)
    if ctx.ticket is None and ctx.automatic:
        claimed = f" (it names ticket #{ctx.claimed_ref}, but its sender never took part)" \
            if ctx.claimed_ref else ""
        raise Discard(f"automatic mail ({ctx.automatic}) that answers no ticket{claimed}")


def _header_candidates(mail, cfg) -> list[tuple[str, str]]:
    """(Message-ID, signal) in the order they count: In-Reply-To, then the nearest References."""
    candidates = []
    if cfg.in_reply_to:
        candidates += [(mid, "in-reply-to") for mid in mail.in_reply_to[:MAX_REFERENCES]]
    if cfg.references:
        candidates += [(mid, "references") for mid in reversed(mail.references[-MAX_REFERENCES:])]
    return candidates


def _by_headers(candidates: list[tuple[str, str]]) -> tuple[Ticket | None, str | None]:
    if not candidates:
        return None, None
    ids = list(dict.fromkeys(mid for mid, _ in candidates))
    found = {}
    rows = db.execute('SELECT "message_id", "ticket_id" FROM "message" WHERE "message_id" IN '
                      f'({", ".join("?" * len(ids))}) ORDER BY "id"', ids)
    for message_id, ticket_id in rows.fetchall():
        # The first holder of an id keeps it: a later mail reusing someone's
        # Message-ID must not pull that person's replies into its own ticket.
        found.setdefault(message_id, ticket_id)
    for mid, signal in candidates:
        if mid in found:
            return tickets.ticket_for_update(found[mid]), signal
    return None, None


def _by_our_signed_ids(candidates: list[tuple[str, str]], config) -> tuple[Ticket | None, str | None]:
    """A reply to mail we sent names our Message-ID, which carries its ticket and a
    signature: it threads even when our copy is not stored and the subject was rewritten."""
    for mid, signal in candidates:
        number = ticket_of_message_id(config, mid) if mid.startswith("pd.") else None
        ticket = Ticket.by_number(number) if number is not None else None
        if ticket is not None:
            return ticket, signal
    return None, None


def _by_subject_tag(ctx, tag_format: str) -> None:
    number = tickets.tagged_number(ctx.mail.subject, tag_format)
    if number is None:
        return
    ticket = Ticket.by_number(number)
    if ticket is not None and ctx.sender is not None and tickets.is_participant(ticket, ctx.sender.key):
        ctx.ticket, ctx.signal = ticket, "subject-tag"
    else:
        ctx.claimed_ref = number
