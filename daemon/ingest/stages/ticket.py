"""Open a ticket for a new mail, or append the mail to the ticket it answers.

A customer's reply to a solved or closed ticket opens it again, and counts
against the articles it was closed with.
"""
import json

from daemon import knowledge, tickets

_DONE = ("solved", "closed")


def run(ctx) -> None:
    if ctx.ticket is None:
        customer = tickets.customer_for(ctx.sender)
        ctx.ticket = tickets.open_ticket(customer, ctx.mail.subject, _support_address(ctx),
                                         ctx.config.threading.first_number, ctx.claimed_ref,
                                         config=ctx.config)
        ctx.outcome = "created"
    else:
        ctx.outcome = "threaded"
    was = ctx.ticket.status
    told = ctx.prepared.language if ctx.prepared is not None else None  # stored with it: one statement less
    ctx.message = tickets.record_inbound(ctx.ticket, ctx.mail, ctx.sender, ctx.inbound.raw, ctx.signal,
                                         ctx.automatic, told and (told.language, told.confidence),
                                         config=ctx.config)
    if was in _DONE and ctx.ticket.status not in _DONE:
        knowledge.ticket_reopened(ctx.config, ctx.ticket)


def _support_address(ctx) -> str:
    """The support address the mail was sent to: envelope first, then headers.

    Mail read from a mailbox carries the addresses that mailbox serves.
    """
    detail = json.loads(ctx.inbound.origin_detail or "{}")
    ours = detail.get("serves") or [a.lower() for a in ctx.config.support.addresses]
    envelope = detail.get("rcpt_tos", [])
    written = [a.key for a in (*ctx.mail.to, *ctx.mail.cc)]
    for address in [a.lower() for a in envelope] + written:
        if address in ours:
            return address
    return ours[0] if ours else ""
