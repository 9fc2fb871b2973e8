"""`patroldesk ingest`, `quarantine`, `spool` and `outbox`: mail coming in and going out.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
import time
from pathlib import Path

import click
import peewee

from daemon.cli.root import App, cli, echo_more_exist, minute, pass_app, print_json
from daemon.config import Config
from daemon import outbound
from daemon.errors import NotFound, PatroldeskError
from daemon.ingest import requeue
from daemon.ingest import importer
from daemon.ingest.sources import archive, spool
from daemon.outbound import outbox, possibly_sent
from daemon.store.models import OUTBOX_STATES, SPOOL_STATES, Inbound, Outgoing, Ticket, utcnow


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file.")
@pass_app
def ingest(app: App, files, as_json):
    """Feed .eml files through the pipeline, as if they had arrived by mail (one mail a file: an mbox or a
    folder is refused, naming the `import` command that takes it)."""
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
            print_json(result)
        else:
            click.echo(f"{path}: {result['outcome']}"
                       + (f" #{result['ticket']}" if result["ticket"] else "")
                       + (f" ({result['reason']})" if result["reason"] else ""))
        outbound.render_pending(app.config)  # the new ticket's acknowledgement, ready for the sender
    if failed:
        sys.exit(1)


def _ingest_file(config: Config, path: Path) -> dict:
    kind = archive.kind_of(path) if path.exists() else None
    if kind is not None:  # nothing is stored: one mail made of many would be a ticket holding them all
        command = {"mbox": "mbox FILE", "maildir": "maildir DIR", "eml": "eml DIR"}[kind]
        what = {"mbox": "an mbox (many mails in one file)", "maildir": "a Maildir folder",
                "eml": "a folder"}[kind]
        return {"file": str(path), "outcome": "error", "ticket": None, "message_id": None,
                "reason": f"{what}, not one mail; nothing was stored: use patroldesk import {command}"}
    raw = path.read_bytes()
    row = spool.enqueue(raw, "cli", {"file": path.name})
    outcome = requeue.process_now(config, row.id)
    return {"file": str(path), "outcome": outcome.outcome, "ticket": outcome.ticket,
            "message_id": outcome.message_id, "reason": outcome.reason}


@cli.group("import")
def import_group():
    """Bring old mail over: every message of an mbox, a Maildir or a folder of .eml files through the
    pipeline, oldest first, not acknowledged; run again after an interruption, it imports nothing twice."""


def _import_command(kind: str, help_text: str, file_kind: bool):
    @import_group.command(kind, help=help_text)
    @click.argument("paths", nargs=-1, required=True,
                    type=click.Path(exists=True, dir_okay=not file_kind, file_okay=file_kind, path_type=Path))
    @click.option("--acknowledge", is_flag=True, help="Acknowledge each new ticket by mail, as live mail is.")
    @click.option("--json", "as_json", is_flag=True, help="One summary line of JSON.")
    @pass_app
    def command(app: App, paths, acknowledge, as_json):
        app.database()
        started = time.monotonic()
        with _import_progress(as_json) as progress:
            counts = importer.import_archives(app.config, kind, list(paths), acknowledge, progress)
        summary = {name: counts[name] for name in ("total", *importer.OUTCOMES)}
        summary["seconds"] = round(time.monotonic() - started, 1)
        if as_json:
            print_json(summary)
        else:
            click.echo(", ".join(f"{value} {name}" for name, value in summary.items() if name != "seconds")
                       + f" in {summary['seconds']} s")
        if counts["quarantined"]:
            click.echo("quarantined mail is kept with its reason: patroldesk quarantine list", err=True)
    return command


for _kind, _help, _file in (("mbox", "Import mbox files (many mails in one file).", True),
                            ("maildir", "Import Maildir folders (cur/, new/).", False),
                            ("eml", "Import folders of .eml files, one mail a file.", False)):
    _import_command(_kind, _help, _file)


@contextlib.contextmanager
def _import_progress(quiet: bool):
    """A progress bar with rate and time left on a terminal (rich); nothing when piped or asked for JSON."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    started = time.monotonic()
    with Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                  TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("import", total=None, rate="")

        def update(done: int, total: int) -> None:
            rate = done / max(time.monotonic() - started, 1e-6)
            bar.update(task, completed=done, total=total, rate=f"{rate:,.0f} mails/s")
        yield update


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
            print_json(item)
            continue
        click.echo(_outbox_line(item))
        if item["last_error"]:
            click.echo(f"    {item['last_error']}")
    if not as_json and len(shown) == limit:
        echo_more_exist(Outgoing.state, state, limit, "mails")


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
            "last_error": row["last_error"] if row["state"] in ("queued", "failed", "bounced", "uncertain") else "",
            "created_at": _utc_iso(row["created_at"]), "sent_at": _utc_iso(row["sent_at"])}


def _utc_iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat() + "Z"


def _outbox_line(item: dict) -> str:
    ticket = f"#{item['ticket']}" if item["ticket"] else "-"
    return (f"{item['id']:>6}  {item['state']:<7}  {item['kind']:<15} {ticket:<8} "
            f"{', '.join(item['recipients'])}  {item['subject']}  ({_outbox_when(item)})")


def _outbox_when(item: dict) -> str:
    """What a reader of the list asks next: when it went, or when it goes and how often it was tried."""
    said = [f"created {minute(item['created_at'])}"]
    if item["sent_at"]:
        said.append(f"sent {minute(item['sent_at'])}")
    if item["next_attempt_at"]:
        said.append(f"next try {minute(item['next_attempt_at'])}")
    if item["attempts"]:
        said.append(f"{item['attempts']} attempt{'s' if item['attempts'] != 1 else ''}")
    return ", ".join(said)


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
    if row.state == "uncertain":
        raise PatroldeskError(f"outbox {row.id} is possibly sent already: find out whether it arrived, then "
                              f"`patroldesk outbox resend {row.id}` or `patroldesk outbox mark-sent {row.id}`")
    if row.state == "bounced":
        raise PatroldeskError(f"outbox {row.id} was delivered to the relay and came back as undeliverable "
                              "(see `patroldesk outbox list --state bounced`); send a new mail instead")


@outbox_group.command("resend")
@click.argument("outbox_ids", type=int, nargs=-1, required=True)
@pass_app
def outbox_resend(app: App, outbox_ids):
    """Send possibly-sent mail again (state uncertain -> queued), once you know it did not arrive.

    A mail is possibly sent when its sender stopped after handing it to the relay and
    before the relay's answer was recorded (`patroldesk outbox list --state uncertain`).
    """
    app.database()
    _settle_each(outbox_ids, possibly_sent.send_again, "queued, due now")


@outbox_group.command("mark-sent")
@click.argument("outbox_ids", type=int, nargs=-1, required=True)
@pass_app
def outbox_mark_sent(app: App, outbox_ids):
    """Record possibly-sent mail as sent (state uncertain -> sent), once you know it arrived."""
    app.database()
    _settle_each(outbox_ids, possibly_sent.take_as_sent, "sent")


def _settle_each(outbox_ids, settle, done: str) -> None:
    """A person's word on each mail, said on its ticket's trail; exit 1 if any was refused."""
    refused = False
    for outbox_id in outbox_ids:
        try:
            settle(outbox_id)
        except PatroldeskError as exc:
            click.echo(str(exc), err=True)
            refused = True
        else:
            click.echo(f"outbox {outbox_id}: uncertain -> {done}")
    if refused:
        sys.exit(1)


@outbox_group.command("send")
@pass_app
def outbox_send(app: App):
    """Send what is due now, in this process, and say how many left (the daemon does this on its own)."""
    app.database()
    failed_before = Outgoing.select().where(Outgoing.state == "failed").count()
    uncertain_before = Outgoing.select().where(Outgoing.state == "uncertain").count()
    total = 0
    while True:
        sent = outbox.send_due(app.config)
        if not sent:
            break
        total += sent
    failed = Outgoing.select().where(Outgoing.state == "failed").count() - failed_before
    waiting = Outgoing.select().where(Outgoing.state == "queued").count()
    said = [f"sent {total}"]
    uncertain = Outgoing.select().where(Outgoing.state == "uncertain").count() - uncertain_before
    if uncertain > 0:  # a sender died inside a transaction: a person must say whether these arrived
        said.append(f"{uncertain} possibly sent, waiting for a person's word "
                    "(see `patroldesk outbox list --state uncertain`)")
    if failed:
        said.append(f"{failed} failed for good (see `patroldesk outbox list --state failed`)")
    said.append(f"{waiting} waiting" + (" (see `patroldesk outbox list --state queued`)" if waiting else ""))
    click.echo("; ".join(said))
    if failed:
        sys.exit(1)
