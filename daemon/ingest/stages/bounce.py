"""A delivery failure of our own mail marks that mail bounced on its ticket; it opens nothing.

Only automatic mail is read as a report (a person's mail that quotes our
headers is still a person's mail). The report must name the Message-ID of
a mail in the outbox; a report of delay or of success is noted on the
ticket and goes no further.
"""
from daemon import outbound, tickets
from daemon.errors import Discard
from daemon.mail import dsn

# What the loop guard calls mail that may be a delivery report (a read receipt or an
# auto-reply is not one, even with an empty envelope sender).
_MAYBE_A_BOUNCE = ("delivery status notification", "envelope sender: empty (bounce)", "return-path: empty",
                   "sender: mailer-daemon", "sender: postmaster")
_FROM_A_MAIL_SYSTEM = ("sender: mailer-daemon", "sender: postmaster")


def run(ctx) -> None:
    if ctx.automatic not in _MAYBE_A_BOUNCE or _is_a_read_receipt(ctx.raw):
        return
    report = dsn.read_report(ctx.raw)
    # A free-form report counts only from a mail system: MAILER-DAEMON, postmaster or the null sender.
    if not report.structured and ctx.automatic not in _FROM_A_MAIL_SYSTEM \
            and not _null_sender(ctx.inbound.mail_from) and not _robot_local_part(ctx.sender):
        return
    ours = outbound.find_by_message_ids(report.message_ids)
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
    outbound.mark_bounced(ours, reason)
    if ours.ticket_id:
        tickets.audit(ours.ticket, "mail bounced", {"outbox": ours.id, "kind": ours.kind,
                                                    "to": ours.to_address, "reason": reason})


def _reported(ours, actions: list[str]) -> None:
    if ours.ticket_id:
        tickets.audit(ours.ticket, "delivery report", {"outbox": ours.id, "to": ours.to_address, "actions": actions})


def _is_a_read_receipt(raw: bytes) -> bool:
    head = raw[:16384].lower()
    return b"disposition-notification" in head and b"multipart/report" in head


def _null_sender(mail_from: str | None) -> bool:
    return mail_from is not None and mail_from.strip().strip("<>").strip() == ""


def _robot_local_part(sender) -> bool:
    return sender is not None and sender.key.split("@", 1)[0] in ("mailer-daemon", "postmaster")
