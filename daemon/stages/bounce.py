"""A delivery failure of our own mail marks that mail bounced on its ticket; it opens nothing.

Only automatic mail is read as a report (a person's mail that quotes our
headers is still a person's mail). The report must name the Message-ID of
a mail in the outbox; a report of delay or of success is noted on the
ticket and goes no further.
"""
from daemon import outbox, tickets
from daemon.errors import Discard
from daemon.mail import dsn


def run(ctx) -> None:
    if not ctx.automatic:
        return
    report = dsn.read_report(ctx.raw)
    ours = outbox.find_by_message_ids(report.message_ids)
    if ours is None:
        return
    number = ours.ticket.number if ours.ticket_id else None
    actions = sorted({r.action for r in report.recipients})
    if report.failed:
        reason = report.describe()
        raise Discard(f"delivery failure of our mail {ours.message_id} (outbox {ours.id}): {reason}",
                      "bounced", number, record=lambda: _bounced(ours, reason))
    raise Discard(f"delivery report ({', '.join(actions) or 'no action given'}) for our mail {ours.message_id} "
                  f"(outbox {ours.id})", "ignored", number, record=lambda: _reported(ours, actions))


def _bounced(ours, reason: str) -> None:
    outbox.mark_bounced(ours, reason)
    if ours.ticket_id:
        tickets.audit(ours.ticket, "mail bounced", {"outbox": ours.id, "kind": ours.kind,
                                                    "to": ours.to_address, "reason": reason})


def _reported(ours, actions: list[str]) -> None:
    if ours.ticket_id:
        tickets.audit(ours.ticket, "delivery report", {"outbox": ours.id, "to": ours.to_address, "actions": actions})
