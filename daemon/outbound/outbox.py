"""The outbox: the one path by which mail leaves.

`queue` writes a composed mail as a row, inside the caller's transaction, so
the mail exists exactly when the change that caused it does. `send_due`
drains the rows: it leases a batch (a crashed sender's rows are taken over
as soon as it is known dead, or when the lease runs out), hands each mail to
the relay, and records the relay's acceptance before anything else. Just
before DATA the row records that its content is going (data_at): a sender
that dies after that leaves a mail whose fate is unknown, which becomes
"uncertain" and waits for a person's word instead of going twice.
Temporary failures (4xx, refused connections, timeouts) retry with capped
exponential backoff and jitter; a destination refusing every recipient for
now holds back the rest of its mail until that mail's next attempt, so it
holds up no one else. A permanent refusal (5xx) marks the mail failed with
the relay's words. With no relay configured, each mail is written to
var/sent/ as an .eml file, so the embedded default works offline.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import random
import secrets
import signal
import smtplib
import socket
import ssl
import threading
import time
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, getaddresses, make_msgid

from daemon import tickets
from daemon.config import Config
from daemon.errors import NoReplyAddress
from daemon.mail.addresses import address_problem
from daemon.outbound.compose import Composed, Draft, compose, one_line, unstructured
from daemon.store import cluster
from daemon.store.db import database, execute, insert_fast
from daemon.store.models import Message, Outgoing, User, utcnow
from daemon.wakeable import WakeableThread

log = logging.getLogger("patroldesk.outbox")
class _NoticePolicy(policy.EmailPolicy):
    """policy.SMTP, but the Subject folded as ticket mail folds it (compose.unstructured). The email
    package's own folder of Python 3.11 drops the space where it breaks a non-ASCII subject between two
    encoded words: "первого ответа" arrived as "первогоответа"."""

    def _fold(self, name, value, refold_binary=False):
        if name.lower() == "subject":
            return f"{name}: {unstructured(str(value), name)}{self.linesep}"
        return super()._fold(name, value, refold_binary)


_POLICY = _NoticePolicy(linesep="\r\n")  # CRLF line ends, as sent


def queue(config: Config, message: EmailMessage, kind: str, ticket=None) -> Outgoing:
    """Add a mail made with the email package (an alert) to the outbox, inside the
    transaction of its cause. A ticket's mail goes through `queue_ticket_mail`."""
    recipients = _sendable([addr for _, addr in _addresses(message, "To", "Cc", "Bcc")], message["Subject"])
    del message["Bcc"]
    return insert_fast(Outgoing, ticket=ticket, kind=kind, mail_from=_envelope_from(config),
                       recipients=json.dumps(recipients), message_id=message["Message-ID"],
                       subject=str(message["Subject"] or ""), data=message.as_bytes(policy=message.policy),
                       to_address=recipients[0].lower() if recipients else "")


def queue_ticket_mail(config: Config, ticket, draft: Draft, kind: str, author=None,
                      template: str | None = None, composed: Composed | None = None, **provenance) -> Outgoing:
    """Compose a mail of a ticket, keep it as an outbound message of the ticket, and queue it:
    one transaction, so the mail exists exactly when the ticket shows it. `provenance` names
    what produced it: template_revision, article, article_revision. Raises NoReplyAddress,
    queueing nothing, when the recipient is not a valid mail address. `composed`: the draft as
    `compose` made it already (in another process)."""
    problem = address_problem(draft.to[1])
    if problem:
        raise NoReplyAddress(f"ticket #{ticket.number}: no mail queued to the requester: {problem}")
    mail = composed if composed is not None else compose(config, draft)
    now = utcnow()
    with database.atomic():
        insert_fast(Message, ticket=ticket.id, kind="outbound", message_id=mail.message_id.strip("<>"),
                    in_reply_to=draft.in_reply_to or "", refs=" ".join(draft.references),
                    sender_address=draft.sender[1].lower(), sender_name=draft.sender[0][:200],
                    to_addrs=json.dumps([list(draft.to)], ensure_ascii=False), subject=mail.subject,
                    body_text=draft.text, body_visible=draft.text, body_html=draft.html, sent_at=now,
                    created_at=now, automatic="auto-replied" if draft.automatic else None, author=author)
        if not draft.automatic:
            tickets.record_outbound(ticket, now)
        return insert_fast(Outgoing, ticket=ticket.id, kind=kind, mail_from=_envelope_from(config),
                           recipients=json.dumps(list(mail.recipients)), message_id=mail.message_id,
                           subject=mail.subject, data=mail.data, automatic=draft.automatic,
                           to_address=mail.recipients[0].lower(), template=template, language=draft.language,
                           **provenance)


def queue_alert(config: Config, subject: str, body: str) -> Outgoing | None:
    """An operational alert to the admins: [support] alerts_to and admin accounts with an address."""
    to = list(dict.fromkeys([*config.support.alerts_to, *(
        u.email for u in User.select(User.email).where((User.role == "admin") & User.active & (User.email != "")))]))
    if not to:
        log.warning("alert not sent, nobody to send it to (set [support] alerts_to): %s", subject)
        return None
    message = compose_notice(config, to, f"[patroldesk] {subject}", body)
    message["Auto-Submitted"] = "auto-generated"
    return queue(config, message, "alert")


def compose_notice(config: Config, to: list[str], subject: str, body: str) -> EmailMessage:
    """A plain mail from support that belongs to no ticket (an alert)."""
    message = EmailMessage(policy=_POLICY)
    message["From"] = formataddr((config.support.name, config.support.addresses[0]))
    message["To"] = ", ".join(to)
    message["Subject"] = one_line(subject)  # no CR, LF or other control character reaches the header
    message["Date"] = format_datetime(dt.datetime.now(dt.timezone.utc))
    message["Message-ID"] = make_msgid(domain=_domain(config))
    message.set_content(body)
    return message


def find_by_message_ids(message_ids: list[str]) -> Outgoing | None:
    """The outbox row of the first of these Message-IDs (without <>) that we sent, if any."""
    wanted = [f"<{mid}>" for mid in message_ids[:50]]
    if not wanted:
        return None
    found = {row.message_id: row for row in Outgoing.select().where(Outgoing.message_id.in_(wanted))}
    return next((found[mid] for mid in wanted if mid in found), None)


def mark_bounced(row: Outgoing, reason: str) -> None:
    """A delivery failure report came back for a mail the relay had accepted."""
    Outgoing.update(state="bounced", bounced_at=utcnow(), last_error=reason[:2000]).where(
        Outgoing.id == row.id).execute()
    log.warning("outbox %d to %s bounced: %s", row.id, row.to_address or row.recipients, reason)


class Permanent(Exception):
    """The relay refused the mail for good."""


# Mail the relay accepted whose record the database refused (outbox id -> when): kept until written,
# so the mail is never sent again for want of a record. Written before anything else is claimed.
_UNRECORDED: dict[int, dt.datetime] = {}
_UNRECORDED_LOCK = threading.Lock()


def record_unrecorded() -> int:
    """Write down the acceptances a database fault kept from being recorded; returns how many are
    still waiting (raises the database's error when it still does not answer)."""
    with _UNRECORDED_LOCK:
        for row_id, sent_at in sorted(_UNRECORDED.items()):
            _record_sent(row_id, sent_at)
            del _UNRECORDED[row_id]
            log.warning("outbox %d: the relay's acceptance is recorded now that the database answers", row_id)
        return len(_UNRECORDED)


def _record_sent(row_id: int, sent_at: dt.datetime) -> None:
    # Whoever holds the row now: the fact that the relay took it outranks any lease.
    Outgoing.update(state="sent", sent_at=sent_at, last_error="", lease_until=None, data_at=None,
                    attempts=Outgoing.attempts + 1).where(
        (Outgoing.id == row_id) & (Outgoing.state != "sent")).execute()


def send_due(config: Config, limit: int = 50) -> int:
    """Send what is due; returns how many were sent. Safe to call from several processes."""
    sent = 0
    held: dict[str, dt.datetime] = {}  # destination domain -> until when its mail waits
    try:
        record_unrecorded()  # before claiming: a mail sent but not yet recorded must not look due
        if not config.relay.host:
            return _write_all(config, _claim(config, limit))
        for row in _claim(config, limit):
            _crash_point("claimed")
            domain = _domain_of(row.to_address)
            if domain in held:
                _hold(row, domain, held[domain])
                continue
            sent += _send_one(config, row, held)
    finally:
        database.close()
    return sent


class Sender(WakeableThread):
    """A thread that drains the outbox whenever woken: at once after the pipeline queued
    mail (an acknowledgement leaves within a moment), and by the scheduler's safety net
    for retries that fall due."""

    thread_name = "outbox"

    def __init__(self, config: Config):
        super().__init__()
        self.config = config
        self.before_send: list = []  # callables that make mail ready to send (rendering automatic mail)
        self.sent = 0  # mails this sender has handed over

    def _round(self) -> None:
        for prepare in self.before_send:
            try:
                prepare()
            except Exception:  # noqa: BLE001 - what is ready is still sent
                log.exception("outbox: preparing mail failed; sending what is ready, trying again later")
        try:
            while not self._stop.is_set() and (sent := send_due(self.config)):
                self.sent += sent  # a full batch may have more behind it
        except Exception:  # noqa: BLE001 - the sender must outlive any bug or outage
            log.exception("outbox sender error; trying again later")
            self._stop.wait(2.0)
            if _UNRECORDED:
                self._wake.set()  # a sent mail's record is still owed: try again soon, not at the next poll


def _claim(config: Config, limit: int) -> list[Outgoing]:
    now = utcnow()
    token = secrets.token_hex(16)
    dead = _dead_senders(config, now)
    _give_up_abandoned(now, dead)
    claimable = ((Outgoing.state == "queued") & (Outgoing.next_attempt_at <= now)) | (
        _abandoned(now, dead) & Outgoing.data_at.is_null())
    with database.atomic():
        due = list(Outgoing.select(Outgoing.id, Outgoing.state, Outgoing.claimed_by).where(claimable)
                   .order_by(Outgoing.automatic, Outgoing.id).limit(limit))  # what people wrote goes first
        if not due:
            return []
        Outgoing.update(state="sending", claim_token=token, claimed_by=cluster.process_identity(),
                        lease_until=now + dt.timedelta(seconds=config.relay.lease_seconds)).where(
            Outgoing.id.in_([row.id for row in due]) & claimable).execute()
    for row in due:
        if row.state == "sending" and row.claimed_by in dead:
            log.warning("outbox %d: its sender %s is no longer running; taking the mail over", row.id, row.claimed_by)
    return list(Outgoing.select().where(Outgoing.claim_token == token).order_by(Outgoing.automatic, Outgoing.id))


def _dead_senders(config: Config, now: dt.datetime) -> list[str]:
    """The holders of leased mail known to have stopped: their mail need not wait for the lease."""
    holders = [holder for (holder,) in Outgoing.select(Outgoing.claimed_by).where(
        (Outgoing.state == "sending") & (Outgoing.lease_until >= now)).distinct().tuples()]
    return cluster.dead_among(holders, config.cluster.dead_after_seconds)  # by the database's clock


def _abandoned(now: dt.datetime, dead: list[str]):
    """Leased mail nobody is sending any more: its lease ran out, or its holder is known dead."""
    gone = Outgoing.lease_until < now
    if dead:
        gone |= Outgoing.claimed_by.in_(dead)
    return (Outgoing.state == "sending") & gone


def _give_up_abandoned(now: dt.datetime, dead: list[str]) -> None:
    """Abandoned mail whose content may have reached the relay becomes uncertain: sending it
    again could deliver it twice, and only a person can find out whether it arrived."""
    unknown = _abandoned(now, dead) & Outgoing.data_at.is_null(False)
    for row in Outgoing.select(Outgoing.id, Outgoing.ticket, Outgoing.claimed_by, Outgoing.data_at,
                               Outgoing.to_address).where(unknown):
        holder = (f"its sender {row.claimed_by} stopped" if row.claimed_by in dead
                  else "its sender's lease ran out")
        why = (f"possibly sent: {holder} after handing the mail to the relay "
               f"({row.data_at:%Y-%m-%d %H:%M:%S} UTC) and before the relay's answer was recorded; "
               "it is not sent again without a person's word")
        with database.atomic():
            if not Outgoing.update(state="uncertain", lease_until=None, last_error=why).where(
                    (Outgoing.id == row.id) & unknown).execute():
                continue  # settled meanwhile by its sender or another daemon
            if row.ticket_id:
                tickets.audit(row.ticket_id, "mail possibly sent", {"outbox": row.id, "to": row.to_address})
        log.warning("outbox %d to %s: %s", row.id, row.to_address, why)


class Temporary(Exception):
    """Not sent this time for a reason of ours (the database), to be tried again later."""


class _Lost(Exception):
    """The mail was taken from this sender (given up as uncertain, or taken over) before DATA."""


class _Attempt:
    """One mail's SMTP transaction as the database sees it: when its content went to the relay,
    and whether the relay took it."""

    def __init__(self, row: Outgoing, recipients: list[str]):
        self.row = row
        self.recipients = recipients
        self.accepted = False
        self.data_sent = False

    def before_data(self) -> None:
        """Say, in a transaction of its own, that the content is going: if this process dies
        before the relay's answer is recorded, the mail is known to be possibly sent."""
        row = self.row
        try:
            with database.atomic():
                mine = Outgoing.update(data_at=utcnow()).where(
                    (Outgoing.id == row.id) & (Outgoing.claim_token == row.claim_token)
                    & (Outgoing.state == "sending")).execute()
        except Exception as exc:  # noqa: BLE001 - no mark, no DATA: the mail stays safe to send later
            raise Temporary(f"the database did not take the mark before DATA: {_describe(exc)}") from exc
        if not mine:
            raise _Lost()
        self.data_sent = True
        _crash_point("data")

    def record_acceptance(self) -> None:
        """The first thing done once the relay has taken the mail."""
        self.accepted = True
        sent_at = utcnow()
        try:
            _crash_point("accepted")
            _finish(self.row, state="sent", sent_at=sent_at, last_error="", attempts=self.row.attempts + 1)
        except Exception as exc:  # noqa: BLE001 - the database failed, not the mail: keep the fact
            with _UNRECORDED_LOCK:
                _UNRECORDED[self.row.id] = sent_at
            log.error("outbox %d: the relay accepted the mail to %s but the database did not take the record "
                      "(%s); kept in memory and written as soon as the database answers, never sent again",
                      self.row.id, ", ".join(self.recipients), _describe(exc))


def _send_one(config: Config, row: Outgoing, held: dict | None = None) -> int:
    """Hand one claimed mail to the relay; `held` gathers the destinations found refusing for now."""
    held = {} if held is None else held
    recipients = json.loads(row.recipients)
    left = (row.lease_until - utcnow()).total_seconds() if row.lease_until else 0.0
    if left < config.relay.lease_seconds / 2:  # a slow batch: renew, or find the mail taken over
        if not _renew_lease(config, row):
            log.warning("outbox %d: the lease ran out and another sender took the mail over; leaving it", row.id)
            return 0
        left = config.relay.lease_seconds
    # The transaction must end before the lease does, or a second sender could send the mail too.
    deadline = time.monotonic() + left - _LEASE_MARGIN_SECONDS
    attempt = _Attempt(row, recipients)
    try:
        _deliver(config, row, recipients, deadline, attempt)
    except _Lost:
        log.warning("outbox %d: taken from this sender before DATA; leaving it", row.id)
        return 0
    except Permanent as exc:
        _finish(row, state="failed", last_error=str(exc)[:2000], attempts=row.attempts + 1)
        log.error("outbox %d to %s failed for good: %s", row.id, ", ".join(recipients), exc)
        return 0
    except (smtplib.SMTPException, OSError, Temporary) as exc:
        return _not_sent(config, attempt, exc, deadline, held)
    except Exception as exc:  # noqa: BLE001 - one mail's surprise must not stop the others behind it
        if attempt.accepted:
            return 1
        log.exception("outbox %d to %s: unexpected error; marked failed", row.id, ", ".join(recipients))
        _finish(row, state="failed", last_error=f"internal error: {type(exc).__name__}: {exc}"[:2000],
                attempts=row.attempts + 1)
        return 0
    if not attempt.accepted:  # written to var/sent/
        attempt.record_acceptance()
    log.info("outbox %d sent to %s: %s", row.id, ", ".join(recipients), row.subject)
    return 1


def _not_sent(config: Config, attempt: _Attempt, exc: Exception, deadline: float, held: dict) -> int:
    """A transaction that ended without the relay's acceptance: retried later, unless its content
    may have arrived (no answer after DATA), which is for a person to judge."""
    row, recipients = attempt.row, attempt.recipients
    if attempt.accepted:  # only the goodbye failed
        log.info("outbox %d sent to %s (the relay's goodbye failed: %s)", row.id, ", ".join(recipients),
                 _describe(exc))
        return 1
    if attempt.data_sent and not isinstance(exc, smtplib.SMTPResponseException):
        why = (f"possibly sent: the relay gave no answer after the mail's content ({_describe(exc)}); "
               "it is not sent again without a person's word")
        _finish(row, state="uncertain", last_error=why, attempts=row.attempts + 1)
        if row.ticket_id:
            tickets.audit(row.ticket_id, "mail possibly sent", {"outbox": row.id, "to": row.to_address})
        log.warning("outbox %d to %s: %s", row.id, ", ".join(recipients), why)
        return 0
    attempts = row.attempts + 1
    delay = min(config.relay.retry_max_seconds, config.relay.retry_base_seconds * 2 ** min(attempts - 1, 20))
    delay *= random.uniform(0.8, 1.0)
    problem = _describe(exc)
    if time.monotonic() >= deadline - 0.05 and "lease" not in problem:
        problem = f"the relay did not finish within the mail's lease (relay.lease_seconds): {problem}"
    next_attempt_at = utcnow() + dt.timedelta(seconds=delay)
    _finish(row, state="queued", last_error=problem[:2000], attempts=attempts, next_attempt_at=next_attempt_at)
    log.warning("outbox %d to %s: %s; retrying in %.0f s", row.id, ", ".join(recipients), problem, delay)
    domain = _domain_of(row.to_address)
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and domain:
        held[domain] = next_attempt_at
        _hold_domain(domain, next_attempt_at, problem)
    return 0


def _domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower() if "@" in address else ""


def _hold_domain(domain: str, until: dt.datetime, problem: str) -> None:
    """The relay is up but the destination refuses every recipient for now: its other mail waits
    for the refused mail's next attempt (no attempt counted), instead of each being refused in turn
    while it takes the round's time from mail to everyone else. A relay that is down holds nothing."""
    held = Outgoing.update(next_attempt_at=until, last_error=_held_because(domain, problem)).where(
        (Outgoing.state == "queued") & (Outgoing.next_attempt_at < until)
        & Outgoing.to_address.endswith(f"@{domain}")).execute()
    if held:
        log.warning("outbox: %d more mails to %s held back until %s: %s", held, domain,
                    f"{until:%H:%M:%S} UTC", problem)


def _hold(row: Outgoing, domain: str, until: dt.datetime) -> None:
    """A mail of this round to a domain found refusing: back in the queue, untried, until the retry."""
    _finish(row, state="queued", next_attempt_at=until, last_error=_held_because(domain, "refused for now"))


def _held_because(domain: str, problem: str) -> str:
    return f"held back, not tried: {domain} refuses mail for now ({problem})"[:2000]


def _renew_lease(config: Config, row: Outgoing) -> bool:
    """A batch is claimed at once; a mail whose turn comes when half its lease is gone gets a
    new one, so a slow relay cannot let the batch's last mails run out before they are tried
    (a fast batch writes nothing extra)."""
    return bool(Outgoing.update(lease_until=utcnow() + dt.timedelta(seconds=config.relay.lease_seconds)).where(
        (Outgoing.id == row.id) & (Outgoing.claim_token == row.claim_token) & (Outgoing.state == "sending")
    ).execute())


def _crash_point(point: str) -> None:
    """Fault injection for the crash-safety tests: PATROLDESK_CRASH_AT=claimed (or data: the mark is
    committed and DATA not yet sent; or accepted: the relay has just said 250) kills this process there."""
    if os.environ.get("PATROLDESK_CRASH_AT") == point:
        os.kill(os.getpid(), signal.SIGKILL)


def _finish(row: Outgoing, **changes) -> None:
    changes.update(lease_until=None)
    if changes.get("state") != "uncertain":
        changes.setdefault("data_at", None)  # the relay answered (or never got the content): no doubt left
    # Written by hand: once for every mail sent, and the query builder cost more than the update.
    fields = Outgoing._meta.fields
    assignments = ", ".join(f'"{fields[name].column_name}" = ?' for name in changes)
    values = [fields[name].db_value(value) for name, value in changes.items()]
    execute(f'UPDATE "outbox" SET {assignments} WHERE "id" = ? AND "claim_token" = ?',
            (*values, row.id, row.claim_token))


_LEASE_MARGIN_SECONDS = 2


@functools.lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """Made once per process: loading the system's certificates took 60 ms, most of a mail's send."""
    return ssl.create_default_context()


def _deliver(config: Config, row: Outgoing, recipients: list[str], deadline: float, attempt: _Attempt) -> None:
    """One SMTP transaction, each step's timeout cut to what is left before `deadline`; the attempt
    is told just before DATA and the moment the relay has taken the mail, before the goodbye."""
    relay = config.relay
    if not relay.host:
        _write_eml(config, row)
        return

    def budget() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("the relay took longer than the mail's lease (relay.lease_seconds)")
        return min(relay.timeout_seconds, left)

    context = _tls_context() if relay.security != "none" else None
    if relay.security == "ssl":
        connection = smtplib.SMTP_SSL(relay.host, relay.port, timeout=budget(), context=context)
    else:
        connection = smtplib.SMTP(relay.host, relay.port, timeout=budget())
    try:
        def step():
            connection.sock.settimeout(budget())

        step()
        connection.ehlo_or_helo_if_needed()
        if relay.security == "starttls":
            step()
            connection.starttls(context=context)
            connection.ehlo()
        if relay.user:
            step()
            connection.login(relay.user, relay.password)
        refused = _transaction(connection, row, recipients, step, attempt.before_data)
        attempt.record_acceptance()
        if refused:  # accepted for some: those are sent; say who was refused
            log.warning("outbox %d: refused by the relay for %s", row.id, _refusals(refused))
    finally:
        try:
            connection.sock and connection.sock.settimeout(min(relay.timeout_seconds, 5))
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()


def _transaction(connection: smtplib.SMTP, row: Outgoing, recipients: list[str], step, before_data) -> dict:
    """MAIL, RCPT, DATA, as smtplib's sendmail does, with a timeout check before each."""
    international = not all(a.isascii() for a in (row.mail_from, *recipients))
    options = []
    if international:
        if not connection.has_extn("smtputf8"):
            raise Permanent("the relay does not offer SMTPUTF8, which an internationalised address needs")
        options = ["SMTPUTF8", "BODY=8BITMIME"]
    step()
    code, text = connection.mail(row.mail_from, options)
    if code != 250:
        _reset(connection)
        _raise_for(code, text)
    refused = {}
    for recipient in recipients:
        step()
        code, text = connection.rcpt(recipient)
        if code not in (250, 251):
            refused[recipient] = (code, text)
    if len(refused) == len(recipients):
        _reset(connection)
        if all(code >= 500 for code, _ in refused.values()):
            raise Permanent(_refusals(refused))
        raise smtplib.SMTPRecipientsRefused(refused)
    step()
    before_data()
    try:
        code, text = connection.data(bytes(row.data))
    except smtplib.SMTPDataError as exc:  # DATA itself refused (no 354)
        code, text = exc.smtp_code, exc.smtp_error
    if code != 250:
        _reset(connection)
        _raise_for(code, text)
    return refused


def _raise_for(code: int, text) -> None:
    if code >= 500:
        raise Permanent(f"{code} {_text(text)}")
    raise smtplib.SMTPResponseException(code, text)


def _reset(connection: smtplib.SMTP) -> None:
    try:
        connection.rset()
    except (smtplib.SMTPException, OSError):
        pass


def _write_all(config: Config, rows: list[Outgoing]) -> int:
    """With no relay: each claimed mail becomes var/sent/<id>.eml, and the batch's acceptance is
    recorded in one statement. A file written again (its sender killed before the record) replaces
    the first, so a mail never leaves twice; a file that cannot be written is retried like a relay
    that is down."""
    written = []
    for row in rows:
        _crash_point("claimed")
        attempt = _Attempt(row, json.loads(row.recipients))
        try:
            _write_eml(config, row)
        except OSError as exc:
            _not_sent(config, attempt, exc, time.monotonic() + config.relay.lease_seconds, {})
            continue
        written.append(attempt)
    if not written:
        return 0
    sent_at = utcnow()
    try:
        _crash_point("accepted")
        execute('UPDATE "outbox" SET "state" = \'sent\', "sent_at" = ?, "last_error" = \'\', '
                '"attempts" = "attempts" + 1, "lease_until" = NULL, "data_at" = NULL '
                f'WHERE "claim_token" = ? AND "id" IN ({", ".join("?" * len(written))})',
                (Outgoing.sent_at.db_value(sent_at), rows[0].claim_token, *(done.row.id for done in written)))
    except Exception as exc:  # noqa: BLE001 - the database failed, not the mail: keep the fact
        with _UNRECORDED_LOCK:
            _UNRECORDED.update((done.row.id, sent_at) for done in written)
        log.error("outbox: %d mails written to %s but the database did not take the record (%s); kept in "
                  "memory and written as soon as the database answers, never written again",
                  len(written), config.sent_dir, _describe(exc))
    for done in written:
        log.info("outbox %d sent to %s: %s", done.row.id, ", ".join(done.recipients), done.row.subject)
    return len(written)


def _write_eml(config: Config, row: Outgoing) -> None:
    folder = config.sent_dir
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = folder / f"{row.id:08d}.eml"
    temporary = target.with_suffix(".tmp")
    with open(temporary, "wb") as handle:
        handle.write(bytes(row.data))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)


def _refusals(recipients: dict) -> str:
    return "; ".join(f"{addr}: {code} {_text(text)}" for addr, (code, text) in recipients.items())


def _text(value) -> str:
    return " ".join((value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)).split())


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return _refusals(exc.recipients)
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.timeout):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"


def _sendable(recipients: list[str], subject) -> list[str]:
    """The recipients that are mail addresses; a staff address that is not one is skipped, and
    the mail refused (NoReplyAddress) when none is left."""
    problems = [problem for problem in map(address_problem, recipients) if problem]
    kept = [address for address in recipients if not address_problem(address)]
    if problems:
        log.warning("mail %r: recipients skipped: %s", str(subject or ""), "; ".join(problems))
    if not kept:
        raise NoReplyAddress(f"no mail queued ({str(subject or '')!r}): "
                             + ("; ".join(problems) or "it names no recipient"))
    return kept


def _addresses(message: EmailMessage, *headers: str) -> list[tuple[str, str]]:
    values = [str(v) for h in headers for v in message.get_all(h, [])]
    return [(name, addr) for name, addr in getaddresses(values) if addr]


def _envelope_from(config: Config) -> str:
    return config.support.addresses[0]


def _domain(config: Config) -> str:
    return config.support.addresses[0].rpartition("@")[2] or "localhost"
