"""`patroldesk init`, `run`, `mailboxes` and `db`: setting the daemon up and running it.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import shlex
import signal
import sys
import threading

import click

from daemon import timefmt
from daemon.cli.root import App, cli, pass_app, print_json
from daemon.config import EMBEDDED, Config
from daemon.people import users
from daemon.store import cluster, db
from daemon.store.models import utcnow


@cli.command()
@pass_app
def init(app: App):
    """Create the data folder and database, and a first admin account.

    The admin's password comes from $PATROLDESK_ADMIN_PASSWORD, or is made
    up and printed once.
    """
    _private_var(app.config)
    app.database(current=False)
    applied = db.upgrade()
    click.echo(f"database ready ({len(applied)} migration(s) applied)")
    if users.any_admin():
        return
    password = os.environ.get("PATROLDESK_ADMIN_PASSWORD") or users.new_password()
    users.create_user("admin", "admin", password, name="Administrator")
    shown = "(from PATROLDESK_ADMIN_PASSWORD)" if os.environ.get("PATROLDESK_ADMIN_PASSWORD") else password
    click.echo(f"created the admin account: user 'admin', password {shown}  (shown once: keep it)")


def _roles(ctx, param, value: str | None) -> tuple[str, ...]:
    if value is None:
        return cluster.ROLES  # an empty --only (an unset variable) is refused below, not taken for all
    asked = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [role for role in asked if role not in cluster.ROLES]
    if unknown or not asked:
        raise click.BadParameter(f"{', '.join(unknown) or 'nothing'} is not a role; the roles are "
                                 f"{', '.join(cluster.ROLES)}")
    return tuple(asked)


@cli.command()
@click.option("--only", "roles", callback=_roles, metavar="ROLES",
              help="Run only these roles, comma-separated: ingest (SMTP listener, mailboxes, pipeline), "
                   "outbox (sending), scheduler (the digest and other once-per-period jobs), console. "
                   "Default: all.")
@click.option("--drain", is_flag=True, help="Read every mailbox once, process the whole spool, send what is due, "
                                            "and exit (non-zero when a mailbox could not be read).")
@click.option("--json", "as_json", is_flag=True, help="With --drain: print one JSON summary line.")
@pass_app
def run(app: App, roles: tuple[str, ...], drain: bool, as_json: bool):
    """Run the daemon in the foreground until Ctrl-C or SIGTERM (or, with --drain, until done)."""
    from daemon.service import build_service
    app.refuse_a_missing_database()
    _private_var(app.config)
    if drain:
        _drain(app, as_json)
        return
    # Fault injection for the crash-safety tests: the IMAP poller kills its own process there.
    service = build_service(app.config, crash_at=os.environ.get("PATROLDESK_CRASH_AT") or None, roles=roles)
    service.start()
    _print_banner(app.config, service)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    click.echo("stopping…", err=True)
    service.stop()


def _drain(app: App, as_json: bool) -> None:
    from daemon.ingest.drain import drain
    app.database()
    with _progress(enabled=sys.stderr.isatty() and not as_json) as progress:
        summary = drain(app.config, progress)
    figures = summary.as_dict()
    if as_json:
        print_json(figures)
    else:
        counts = ", ".join(f"{figures[k]} {k}" for k in ("created", "threaded", "duplicate", "ignored", "bounced",
                                                          "quarantined") if figures.get(k))
        click.echo(f"drained: {summary.spooled} read from the mailboxes, {figures['processed']} processed"
                   f"{' (' + counts + ')' if counts else ''}, {summary.filed} filed, {summary.sent} sent, "
                   f"in {summary.seconds:.1f} s")
    for name, why in summary.failed_mailboxes.items():
        click.echo(f"mailbox {name} not read: {why}", err=True)
    if summary.failed_mailboxes:
        sys.exit(1)


@contextlib.contextmanager
def _progress(enabled: bool):
    """A live line per stage on a terminal (rich); nothing when piped or asked for JSON."""
    if not enabled:
        yield lambda stage, count: None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed:,}"),
                  TimeElapsedColumn()) as bar:
        tasks: dict = {}

        def show(stage: str, count: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage)
            bar.update(tasks[stage], completed=count)
        yield show


def _private_var(config: Config) -> None:
    """The data folder, owner-only: made so, or tightened where an older install left it open to others."""
    folder = config.var_dir
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_mode & 0o077:
        folder.chmod(0o700)
    sqlite = db.sqlite_file(config)
    files = [sqlite.with_name(sqlite.name + end) for end in ("", "-wal", "-shm")] if sqlite else []
    for file in files:
        if file.exists() and file.stat().st_mode & 0o077:
            file.chmod(0o600)


def _own_command(config: Config) -> str:
    """How the user reaches this same daemon's data from another shell."""
    program = sys.argv[0] if sys.argv[0].endswith("patroldesk") else "patroldesk"
    # Absolute: the line must work from any folder the reader pastes it in.
    return program if config.source == EMBEDDED else f"{program} --config {shlex.quote(os.path.abspath(config.source))}"


def _print_banner(config: Config, service) -> None:
    address = config.support.addresses[0]
    lines = ["", "patroldesk is running.  Ctrl-C stops it."]
    if len(service.roles) < len(cluster.ROLES):
        lines.append(f"  roles:    {', '.join(service.roles)} only; the cluster: {_own_command(config)} cluster")
    if service.web:
        lines.append(f"  console:  http://{config.web.host}:{service.web.port}/  (sign in as 'admin' with the "
                     f"password `init` printed; forgot it? {_own_command(config)} user password admin)")
        if config.help.enabled:
            where = f"https://{config.help.host}/help/" if config.help.host else \
                f"http://{config.web.host}:{service.web.port}/help/"
            lines.append(f"  help:     {where}  (the public help center: published articles, no sign-in)")
    if service.smtp:
        port = service.smtp.port
        lines += [f"  mail in:  {config.smtp.protocol.upper()} {config.smtp.host}:{port} for {address}",
                  "  send a first mail:",
                  f"    python3 -c \"import smtplib; smtplib.SMTP('{config.smtp.host}', {port}).sendmail("
                  f"'customer@example.org', ['{address}'], 'From: customer@example.org\\r\\nTo: {address}"
                  f"\\r\\nSubject: Printer on fire\\r\\n\\r\\nHelp, please.\\r\\n')\"",
                  f"  then:     {_own_command(config)} tickets list"]
    if not config.relay.host and service.sender:
        lines.append(f"  mail out: no [relay] set, so each mail sent (the acknowledgement of a new ticket, "
                     f"too) is written to {config.sent_dir}/ as an .eml file")
    for box in config.mailbox if service.pollers else ():
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
        print_json(states)
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
            f"{filing}  last seen {timefmt.ago(s.get('last_seen'), now)}"
            f"{'  read by ' + s['held_by'] if s.get('held_by') else ''}")


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


@db_group.command("accept-key")
@pass_app
def db_accept_key(app: App):
    """Make this daemon's signing key the installation's, when the old key is lost for good."""
    from daemon.outbound import installation_key
    app.database()
    if installation_key.accept(app.config):
        click.echo("this key now signs for the installation; replies to mail signed with the old key thread by "
                   "their subject tag, and `patrol verify` cannot prove entries written before")
    else:
        click.echo("this key already is the installation's: nothing changed")


@db_group.command("status")
@pass_app
def db_status(app: App):
    """List migrations and whether each is applied."""
    app.database(current=False)
    for migration in db.migration_runner().status():
        click.echo(f"{'applied' if migration.applied else 'PENDING'}  {migration.name}")
