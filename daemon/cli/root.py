"""The `patroldesk` command: parse arguments, call the domain, print.

Failures print one line on standard error and exit non-zero:
2 for configuration, 1 for everything else.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import signal
import sys
import threading
from pathlib import Path

import click
import peewee

from daemon import logs, timefmt
from daemon.people import accounts
from daemon.store import db
from daemon.knowledge import article_replies as kb_replies
from daemon.outbound import outbox
from daemon.outbound import replies
from daemon.ingest import requeue
from daemon.tickets import lifecycle as tickets
from daemon.people import users
from daemon.config import EMBEDDED, Config, load_config
from daemon.errors import ConfigError, NotFound, PatroldeskError
from daemon.store.models import OUTBOX_STATES, ROLES, SPOOL_STATES, STATUSES, Attachment, Inbound, Message, Outgoing, Ticket, User, utcnow
from daemon.ingest.sources import spool


class App:
    """What every command needs: the configuration, read once, and the database."""

    def __init__(self, config_path: str | None):
        self.config_path = config_path
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path, os.environ)
            logs.configure(self._config.log.level)
        return self._config

    def database(self, current: bool = True):
        handle = db.open_database(self.config)
        if current:
            db.require_current_schema()
        return handle


pass_app = click.make_pass_decorator(App)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="PATH", envvar="PATROLDESK_CONFIG",
              help="Configuration file (TOML). Default: $PATROLDESK_CONFIG, else the embedded defaults.")
@click.pass_context
def cli(ctx, config_path):
    """patroldesk: an email helpdesk daemon where every closed ticket leaves a patrol report."""
    ctx.obj = App(config_path)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("patroldesk: aborted (no input)", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        _fail(f"configuration error: {exc}", 2)
    except PatroldeskError as exc:
        _fail(str(exc))
    except peewee.DatabaseError as exc:
        _fail(f"database unavailable or damaged: {_first_line(exc)}")
    except peewee.InterfaceError as exc:
        _fail(f"database unavailable: {_first_line(exc)}")
    except OSError as exc:
        _fail(f"{exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}")


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"patroldesk: {message}", err=True)
    sys.exit(code)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _print_json(obj) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False))


# init, run, db ---------------------------------------------------------------

@cli.command()
@pass_app
def init(app: App):
    """Create the data folder and database, and a first admin account.

    The admin's password comes from $PATROLDESK_ADMIN_PASSWORD, or is made
    up and printed once.
    """
    app.config.var_dir.mkdir(parents=True, exist_ok=True)
    app.database(current=False)
    applied = db.upgrade()
    click.echo(f"database ready ({len(applied)} migration(s) applied)")
    if users.any_admin():
        return
    password = os.environ.get("PATROLDESK_ADMIN_PASSWORD") or users.new_password()
    users.create_user("admin", "admin", password, name="Administrator")
    shown = "(from PATROLDESK_ADMIN_PASSWORD)" if os.environ.get("PATROLDESK_ADMIN_PASSWORD") else password
    click.echo(f"created the admin account: user 'admin', password {shown}  (shown once: keep it)")


@cli.command()
@pass_app
def run(app: App):
    """Run the daemon in the foreground until Ctrl-C or SIGTERM."""
    from daemon.service import build_service
    # Fault injection for the crash-safety tests: the IMAP poller kills its own process there.
    service = build_service(app.config, crash_at=os.environ.get("PATROLDESK_CRASH_AT") or None)
    service.start()
    _print_banner(app.config, service)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    click.echo("stopping…", err=True)
    service.stop()


def _own_command(config: Config) -> str:
    """How the user reaches this same daemon's data from another shell."""
    program = sys.argv[0] if sys.argv[0].endswith("patroldesk") else "patroldesk"
    return program if config.source == EMBEDDED else f"{program} --config {shlex.quote(config.source)}"


def _print_banner(config: Config, service) -> None:
    address = config.support.addresses[0]
    lines = ["", "patroldesk is running.  Ctrl-C stops it."]
    if service.web:
        lines.append(f"  console:  http://{config.web.host}:{service.web.port}/  (sign in as 'admin' with the "
                     f"password `init` printed; forgot it? {_own_command(config)} user password admin)")
    if service.smtp:
        port = service.smtp.port
        lines += [f"  mail in:  {config.smtp.protocol.upper()} {config.smtp.host}:{port} for {address}",
                  "  send a first mail:",
                  f"    python3 -c \"import smtplib; smtplib.SMTP('{config.smtp.host}', {port}).sendmail("
                  f"'customer@example.org', ['{address}'], 'From: customer@example.org\\r\\nTo: {address}"
                  f"\\r\\nSubject: Printer on fire\\r\\n\\r\\nHelp, please.\\r\\n')\"",
                  f"  then:     {_own_command(config)} tickets list"]
    if not config.relay.host:
        lines.append(f"  mail out: no [relay] set, so each mail sent (the acknowledgement of a new ticket, "
                     f"too) is written to {config.sent_dir}/ as an .eml file")
    for box in config.mailbox:
        lines.append(f"  mailbox:  {box.label} ({box.host}:{box.effective_port} {box.folder}); "
                     f"state: {_own_command(config)} mailboxes")
    click.echo("\n".join(lines) + "\n")


@cli.command("mailboxes")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def mailboxes(app: App, as_json):
    """The IMAP mailboxes: checkpoint and health."""
    from daemon.ingest.sources.imap import mailbox_states
    app.database()
    states = mailbox_states(app.config)
    if as_json:
        _print_json(states)
        return
    if not states:
        click.echo("no [[mailbox]] configured")
    now = utcnow()
    for s in states:
        click.echo(_mailbox_line(s, now))
        if s["failing_since"]:
            click.echo(f"    failing since {s['failing_since']} UTC{' (admins alerted)' if s['alerted'] else ''}: "
                       f"{s['last_error']}")


def _mailbox_line(s: dict, now: dt.datetime) -> str:
    """One mailbox on one line. A read-only mailbox never files mail, so no filing count for it."""
    seen = timefmt.seconds_since(s.get("last_seen"), now)
    filing = "" if s["read_only"] else f"  waiting to be filed {s['waiting_to_file']}"
    uidvalidity = "-" if s["uidvalidity"] is None else s["uidvalidity"]
    return (f"{s['name']}  {_mailbox_status(s, seen)}{' read-only' if s['read_only'] else ''}  "
            f"{s['host']}:{s['port']} {s['folder']}  uidvalidity {uidvalidity} last UID {s['last_uid']}"
            f"{filing}  last seen {timefmt.ago(s.get('last_seen'), now)}")


def _mailbox_status(s: dict, seen: float | None) -> str:
    """The stored status, doubted when the daemon has not touched the mailbox for a while:
    a stopped daemon leaves 'ok' behind, which would otherwise read as healthy."""
    if not s.get("stale"):
        return f"{s['status']}{' (IDLE)' if s['idle'] else ''}"
    since = "never seen" if seen is None else f"not seen for {timefmt.duration(seen)}"
    return f"{s['status']}? ({since}: is the daemon running?)"


@cli.group("db")
def db_group():
    """Database schema: upgrade and status."""


@db_group.command("upgrade")
@pass_app
def db_upgrade(app: App):
    """Apply pending schema migrations."""
    app.database(current=False)
    applied = db.upgrade()
    click.echo("\n".join(f"applied {name}" for name in applied) or "schema is current")


@db_group.command("status")
@pass_app
def db_status(app: App):
    """List migrations and whether each is applied."""
    app.database(current=False)
    for migration in db.migration_runner().status():
        click.echo(f"{'applied' if migration.applied else 'PENDING'}  {migration.name}")


# users -------------------------------------------------------------------------

@cli.group("user")
def user_group():
    """Accounts of agents, reviewers and admins."""


@user_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="agent", show_default=True)
@click.option("--email", default="")
@click.option("--name", default="")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_app
def user_add(app: App, username, role, email, name, password_stdin):
    """Add an account; without --password-stdin a password is made up and printed once."""
    app.database()
    password = sys.stdin.readline().rstrip("\n") if password_stdin else users.new_password()
    users.create_user(username, role, password, email=email, name=name)
    click.echo(f"added {role} {username!r}" + ("" if password_stdin else f", password {password} (shown once)"))


@user_group.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input (one line).")
@pass_app
def user_password(app: App, username, password_stdin):
    """Set a new password for an account; without --password-stdin it is asked for twice, not echoed."""
    app.database()
    user = User.get_or_none(User.username == username)
    if user is None:
        raise PatroldeskError(f"no user {username!r}")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True, err=True)
    users.set_password(user, password)
    accounts.revoke_sessions(user)  # a password reset because of a leak must end the thief's session too
    click.echo(f"password of {username!r} changed; its console sessions are signed out")


# tickets -----------------------------------------------------------------------

@cli.group("tickets")
def tickets_group():
    """Read tickets."""


@tickets_group.command("list")
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per ticket, with its messages.")
@pass_app
def tickets_list(app: App, status, limit, as_json):
    """List tickets, newest first."""
    app.database()
    shown = tickets.list_tickets(status, limit)
    for ticket in shown:
        if as_json:
            _print_json(tickets.ticket_detail(ticket))
        else:
            click.echo(f"#{ticket.number}  {ticket.status:<7}  {ticket.requester.email:<30}  {ticket.subject}")
    if not as_json and len(shown) == limit:
        _echo_more_exist(status, limit)


def _echo_more_exist(status: str | None, limit: int) -> None:
    """Say when the list was cut short: a silent limit reads as lost tickets."""
    query = Ticket.select()
    if status:
        query = query.where(Ticket.status == status)
    total = query.count()
    if total > limit:
        kind = f"{status} tickets" if status else "tickets"
        click.echo(f"showing {limit} of {total} {kind} (newest first); --limit N for more")


@tickets_group.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="The ticket and its messages as JSON.")
@pass_app
def tickets_show(app: App, ref, as_json):
    """Show a ticket with its messages. REF is the number, with or without '#'."""
    app.database()
    ticket = tickets.get_ticket(_ticket_number(ref))
    detail = tickets.ticket_detail(ticket)
    if as_json:
        _print_json(detail)
        return
    click.echo(f"#{detail['ticket']}  {detail['subject']}\n"
               f"status {detail['status']}, requester {_person(detail['requester'])}")
    if detail["claimed_ref"] is not None:
        click.echo(_claimed_ref_note(detail["claimed_ref"]))
    for message, attachments in zip(detail["messages"], _attachments_per_message(ticket)):
        _echo_message(message, attachments)
    if detail["suggestions"]:
        click.echo("\n--- articles that may answer it (kb show ID)")
        for row in detail["suggestions"]:
            click.echo(f"  {row['article']:>5}  {row['state']:<10} {row['title']}")
    if detail["articles"]:
        click.echo("--- linked articles: " + ", ".join(f"{a['article']} ({a['kind']})" for a in detail["articles"]))
    if detail["trail"]:
        click.echo("\n--- trail")
        for event in detail["trail"]:
            click.echo(_trail_line(event))


def _trail_line(event: dict) -> str:
    who = event["actor"] or "system"
    said = event["detail"]
    reason = said.get("reason")
    rest = ", ".join(f"{key} {value}" for key, value in said.items() if key != "reason")
    text = f"{_minute(event['at'])}  {who}: {event['action']}" + (f" ({rest})" if rest else "")
    return text + (f": {reason}" if reason else "")


def _claimed_ref_note(number: int) -> str:
    """Why a mail tagged for ticket #N opened this ticket instead: only people on #N may add to it."""
    why = "which does not exist" if Ticket.by_number(number) is None else "but its sender was not on that ticket"
    return f"opened by a mail whose subject names ticket #{number}, {why}"


def _person(who: dict) -> str:
    return f"{who['name']} <{who['email']}>" if who["name"] else who["email"]


def _attachments_per_message(ticket: Ticket) -> list[list[Attachment]]:
    """Each message's attachment rows, in ticket_detail's message order (by id).

    ticket_detail gives names only; the text view also tells sizes and which
    files were too big to store.
    """
    ids = [m.id for m in Message.select(Message.id).where(Message.ticket == ticket).order_by(Message.id)]
    found: dict[int, list[Attachment]] = {}
    for att in Attachment.select().where(Attachment.message.in_(ids)).order_by(Attachment.id):
        found.setdefault(att.message_id, []).append(att)
    return [found.get(message_id, []) for message_id in ids]


def _echo_message(message: dict, attachments: list[Attachment]) -> None:
    how = f", threaded by {message['thread_signal']}" if message["thread_signal"] else ""
    auto = f", automatic ({message['automatic']})" if message["automatic"] else ""
    when = f", {message['date']}" if message["date"] else ""
    delivery = message.get("delivery")
    sent = ""
    if delivery:
        sent = f", {delivery['kind']} {delivery['state']} (outbox {delivery['outbox']})"
        if delivery["error"]:
            sent += f": {delivery['error']}"
    click.echo(f"\n--- {message['kind']} from {_person(message['sender'])}{when}{how}{auto}{sent}\n"
               f"Subject: {message['subject']}\n")
    click.echo(message["visible_text"])
    for att in attachments:
        kept = "" if att.stored else ", not stored: over the size limit; it is in the raw mail"
        click.echo(f"[attachment] {att.filename} ({_size(att.size)}{kept})")


def _size(count: int) -> str:
    """Bytes for people: 512 B, 14.2 KB, 30.0 MB (binary units, like the size limits)."""
    if count < 1024:
        return f"{count} B"
    for unit in ("KB", "MB", "GB"):
        count /= 1024
        if count < 1024 or unit == "GB":
            return f"{count:.1f} {unit}"


def _ticket_number(ref: str) -> int:
    digits = ref.lstrip("#")
    if not digits.isdigit() or len(digits) > 9:
        raise PatroldeskError(f"not a ticket reference: {ref!r} (expected a number like 10001)")
    return int(digits)


# the spool: ingest, quarantine -------------------------------------------------

@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file.")
@pass_app
def ingest(app: App, files, as_json):
    """Feed .eml files through the pipeline, as if they had arrived by mail."""
    app.database()
    failed = False
    for path in files:
        try:
            result = _ingest_file(app.config, path)
        except OSError as exc:
            result = {"file": str(path), "outcome": "error", "ticket": None, "message_id": None,
                      "reason": f"cannot read: {exc.strerror}"}
        failed |= result["outcome"] in ("quarantined", "error")
        if as_json:
            _print_json(result)
        else:
            click.echo(f"{path}: {result['outcome']}"
                       + (f" #{result['ticket']}" if result["ticket"] else "")
                       + (f" ({result['reason']})" if result["reason"] else ""))
    if failed:
        sys.exit(1)


def _ingest_file(config: Config, path: Path) -> dict:
    raw = path.read_bytes()
    row = spool.enqueue(raw, "cli", {"file": path.name})
    outcome = requeue.process_now(config, row.id)
    return {"file": str(path), "outcome": outcome.outcome, "ticket": outcome.ticket,
            "message_id": outcome.message_id, "reason": outcome.reason}


@cli.group("quarantine")
def quarantine_group():
    """Mail that could not be processed: list, show, retry."""


@quarantine_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def quarantine_list(app: App, as_json):
    """List quarantined mail, newest first."""
    app.database()
    for row in spool.listing("quarantined"):
        item = {"id": row.id, "origin": row.origin, "received_at": row.received_at.isoformat() + "Z",
                "size": row.raw.size, "reason": row.reason}
        click.echo(json.dumps(item, ensure_ascii=False) if as_json else
                   f"{row.id:>6}  {row.received_at:%Y-%m-%d %H:%M}  {row.origin:<5} {row.reason}")


@quarantine_group.command("show")
@click.argument("spool_id", type=int)
@click.option("--raw", is_flag=True, help="Write the raw mail bytes to standard output.")
@pass_app
def quarantine_show(app: App, spool_id, raw):
    """Show why a mail is in quarantine (or its raw bytes)."""
    app.database()
    row = Inbound.get_or_none(Inbound.id == spool_id)
    if row is None:
        raise PatroldeskError(f"no spooled mail {spool_id}")
    if raw:
        sys.stdout.buffer.write(bytes(row.raw.data))
        return
    outcome = f" ({row.outcome})" if row.outcome and row.outcome != row.state else ""
    click.echo(f"spool {row.id}: {row.state}{outcome}, from {row.origin} {row.origin_detail}")
    if row.reason:
        click.echo(f"reason: {row.reason}")
    if row.detail:
        click.echo(row.detail)


@quarantine_group.command("retry")
@click.argument("spool_ids", type=int, nargs=-1, required=True)
@pass_app
def quarantine_retry(app: App, spool_ids):
    """Run quarantined (or ignored) mail through the pipeline again."""
    app.database()
    failed = False
    for spool_id in spool_ids:
        if not spool.requeue(spool_id):
            click.echo(f"{spool_id}: not in quarantine or ignored", err=True)
            failed = True
            continue
        outcome = requeue.process_now(app.config, spool_id)
        failed |= outcome.outcome == "quarantined"
        click.echo(f"{spool_id}: {outcome.outcome}" + (f" #{outcome.ticket}" if outcome.ticket else "")
                   + (f" ({outcome.reason})" if outcome.reason else ""))
    if failed:
        sys.exit(1)


@cli.group("spool")
def spool_group():
    """The inbound spool: every delivery, with what became of it."""


@spool_group.command("list")
@click.option("--state", type=click.Choice(SPOOL_STATES),
              default="discarded", show_default=True)
@click.option("--limit", default=100, show_default=True)
@pass_app
def spool_list(app: App, state, limit):
    """List spooled mail in one state (ignored and duplicate mail is 'discarded')."""
    app.database()
    for row in spool.listing(state, limit):
        click.echo(f"{row.id:>6}  {row.received_at:%Y-%m-%d %H:%M}  {row.origin:<5} "
                   f"{row.outcome or '-':<11} {row.reason}")


# the outbox and replies ------------------------------------------------------

@cli.group("outbox")
def outbox_group():
    """Mail leaving patroldesk: list it, retry what failed.

    `patroldesk run` sends queued mail, over [relay], or into var/sent/ without a relay.
    """


@outbox_group.command("list")
@click.option("--state", type=click.Choice(OUTBOX_STATES))
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per mail.")
@pass_app
def outbox_list(app: App, state, limit, as_json):
    """List outgoing mail, newest first, with the relay's last error where there is one."""
    app.database()
    shown = _outbox_listing(state, limit)
    for item in shown:
        if as_json:
            _print_json(item)
            continue
        click.echo(_outbox_line(item))
        if item["last_error"]:
            click.echo(f"    {item['last_error']}")
    if not as_json and len(shown) == limit:
        _echo_more_mail_exists(state, limit)


def _outbox_listing(state: str | None, limit: int) -> list[dict]:
    """The newest outbox rows as plain values; the composed mail (`data`) is not read, as it can be large."""
    query = (Outgoing.select(Outgoing.id, Outgoing.state, Outgoing.kind, Ticket.number.alias("ticket"),
                             Outgoing.recipients, Outgoing.subject, Outgoing.attempts, Outgoing.next_attempt_at,
                             Outgoing.last_error, Outgoing.created_at, Outgoing.sent_at)
             .join(Ticket, peewee.JOIN.LEFT_OUTER, on=(Outgoing.ticket == Ticket.id))
             .order_by(Outgoing.id.desc()).limit(limit))
    if state:
        query = query.where(Outgoing.state == state)
    return [_outbox_item(row) for row in query.dicts()]


def _outbox_item(row: dict) -> dict:
    """One mail for people and scripts: the next attempt only while queued, the error only while not sent."""
    waiting = row["state"] == "queued"
    return {"id": row["id"], "state": row["state"], "kind": row["kind"], "ticket": row["ticket"],
            "recipients": json.loads(row["recipients"]), "subject": row["subject"], "attempts": row["attempts"],
            "next_attempt_at": _utc_iso(row["next_attempt_at"]) if waiting else None,
            "last_error": row["last_error"] if row["state"] in ("queued", "failed", "bounced") else "",
            "created_at": _utc_iso(row["created_at"]), "sent_at": _utc_iso(row["sent_at"])}


def _utc_iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat() + "Z"


def _outbox_line(item: dict) -> str:
    ticket = f"#{item['ticket']}" if item["ticket"] else "-"
    return (f"{item['id']:>6}  {item['state']:<7}  {item['kind']:<15} {ticket:<8} "
            f"{', '.join(item['recipients'])}  {item['subject']}  ({_outbox_when(item)})")


def _outbox_when(item: dict) -> str:
    """What a reader of the list asks next: when it went, or when it goes and how often it was tried."""
    said = [f"created {_minute(item['created_at'])}"]
    if item["sent_at"]:
        said.append(f"sent {_minute(item['sent_at'])}")
    if item["next_attempt_at"]:
        said.append(f"next try {_minute(item['next_attempt_at'])}")
    if item["attempts"]:
        said.append(f"{item['attempts']} attempt{'s' if item['attempts'] != 1 else ''}")
    return ", ".join(said)


def _minute(iso: str) -> str:
    return f"{dt.datetime.fromisoformat(iso.removesuffix('Z')):%Y-%m-%d %H:%M} UTC"


def _echo_more_mail_exists(state: str | None, limit: int) -> None:
    """Say when the list was cut short, as `tickets list` does."""
    query = Outgoing.select(Outgoing.id)
    if state:
        query = query.where(Outgoing.state == state)
    total = query.count()
    if total > limit:
        kind = f"{state} mails" if state else "mails"
        click.echo(f"showing {limit} of {total} {kind} (newest first); --limit N for more")


@outbox_group.command("retry")
@click.argument("outbox_ids", type=int, nargs=-1, required=True)
@pass_app
def outbox_retry(app: App, outbox_ids):
    """Queue failed (or waiting) mail to be sent at once; its attempts and last error are kept.

    A sent mail, or one being sent, is refused: no mail is sent twice.
    `patroldesk run` does the sending.
    """
    app.database()
    refused = False
    for outbox_id in outbox_ids:
        try:
            click.echo(_requeue_outgoing(outbox_id))
        except PatroldeskError as exc:
            click.echo(str(exc), err=True)
            refused = True
    if refused:
        sys.exit(1)


def _requeue_outgoing(outbox_id: int) -> str:
    """Put one mail back in the queue, due now; what was done, in words.

    The update names the states it may leave, so a sender that claims the mail
    between the check and the update wins and the mail is not sent twice.
    """
    row = (Outgoing.select(Outgoing.id, Outgoing.state, Outgoing.attempts, Outgoing.sent_at)
           .where(Outgoing.id == outbox_id).get_or_none())
    if row is None:
        raise NotFound(f"no outbox mail {outbox_id}")
    _refuse_requeue(row)
    requeued = (Outgoing.update(state="queued", next_attempt_at=utcnow())
                .where((Outgoing.id == outbox_id) & Outgoing.state.in_(("queued", "failed"))).execute())
    if not requeued:
        raise PatroldeskError(f"outbox {outbox_id} was taken by the sender meanwhile; see `patroldesk outbox list`")
    tried = f"{row.attempts} attempt{'s' if row.attempts != 1 else ''} so far"
    return f"outbox {outbox_id}: {row.state} -> queued, due now ({tried})"


def _refuse_requeue(row: Outgoing) -> None:
    if row.state == "sent":
        when = f" at {row.sent_at:%Y-%m-%d %H:%M} UTC" if row.sent_at else ""
        raise PatroldeskError(f"outbox {row.id} was sent{when}; it is not sent twice")
    if row.state == "sending":
        raise PatroldeskError(f"outbox {row.id} is being sent right now; it is not sent twice")
    if row.state == "bounced":
        raise PatroldeskError(f"outbox {row.id} was delivered to the relay and came back as undeliverable "
                              "(see `patroldesk outbox list --state bounced`); send a new mail instead")


@outbox_group.command("send")
@pass_app
def outbox_send(app: App):
    """Send what is due now, in this process, and say how many left (the daemon does this on its own)."""
    app.database()
    failed_before = Outgoing.select().where(Outgoing.state == "failed").count()
    total = 0
    while True:
        sent = outbox.send_due(app.config)
        if not sent:
            break
        total += sent
    failed = Outgoing.select().where(Outgoing.state == "failed").count() - failed_before
    waiting = Outgoing.select().where(Outgoing.state == "queued").count()
    said = [f"sent {total}"]
    if failed:
        said.append(f"{failed} failed for good (see `patroldesk outbox list --state failed`)")
    said.append(f"{waiting} waiting" + (" (see `patroldesk outbox list --state queued`)" if waiting else ""))
    click.echo("; ".join(said))
    if failed:
        sys.exit(1)


@cli.command("reply")
@click.argument("ref")
@click.option("--template", "name", required=True, metavar="NAME",
              help="A reply template: the team's own, else templates/mail/NAME.txt.j2.")
@click.option("--body", help="The agent's text, for templates that use {{ body }}.")
@click.option("--body-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read the agent's text from this UTF-8 file instead.")
@click.option("--preview", is_flag=True, help="Print the mail as it would go; queue nothing.")
@click.option("--as", "username", metavar="USER", help="The agent who answers (their name signs the mail).")
@click.option("--flag", "flag_text", metavar="KIND[:DETAIL]",
              help="With a template made from an article: flag the article in the same step "
                   "(wrong, incomplete, outdated, ...), e.g. 'incomplete:no step for macOS'.")
@pass_app
def reply(app: App, ref, name, body, body_file, preview, username, flag_text):
    """Mail a ticket's requester from a reply template. REF is the ticket number.

    The mail is queued in the outbox and kept on the ticket; `patroldesk run`
    sends it, over [relay], or into var/sent/ without a relay. A template that
    fails to render is refused and nothing is queued.
    """
    if body is not None and body_file is not None:
        raise click.UsageError("give --body or --body-file, not both")
    text = _read_body_file(body_file) if body_file is not None else body or ""
    app.database()
    ticket = tickets.get_ticket(_ticket_number(ref))
    agent = None
    if username:
        agent = User.get_or_none((User.username == username) & User.active)
        if agent is None:
            raise PatroldeskError(f"no active account {username!r} (see `patroldesk user add`)")
    if preview:
        rendered = replies.preview(app.config, name, ticket, agent=agent, body=text)
        _echo_rendered(rendered, replies.preview_headers(app.config, ticket, rendered))
        return
    from daemon.cli.kb import parse_flag
    queued = kb_replies.reply(app.config, ticket, name, agent, body=text, flag=parse_flag(flag_text))
    click.echo(f"queued outbox {queued.id} to {', '.join(json.loads(queued.recipients))}: {queued.subject}")
    if queued.article_id:
        click.echo(f"ticket #{ticket.number} linked to article {queued.article_id}"
                   + (f"; flagged {flag_text.partition(':')[0]}" if flag_text else ""))


def _read_body_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PatroldeskError(f"{path}: not UTF-8 text") from None


def _echo_rendered(rendered: replies.Rendered, headers: list[tuple[str, str]] = ()) -> None:
    for name, value in headers:
        click.echo(f"{name}: {value}")
    if not headers:
        click.echo(f"Subject: {rendered.subject}")
    click.echo(f"\n{rendered.text}")
    if rendered.html is not None:
        click.echo(f"--- html ---\n{rendered.html}")


# The patrol log's and the policies' commands live in their own modules; importing them registers them.
from daemon.cli import kb as kb_cli
from daemon.cli import patrol as patrol_cli
from daemon.cli import policy as policy_cli  # noqa: E402,F401

if __name__ == "__main__":
    main()
