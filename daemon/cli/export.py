"""`patroldesk export`: every ticket or article variant as JSON or CSV, streamed, for audits and for leaving.

The rows are read and written in batches (daemon.store.export), to standard output or to a file.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

import click

from daemon.cli.root import App, cli, pass_app
from daemon.errors import PatroldeskError
from daemon.store import export


@cli.group("export")
def export_group():
    """Everything out, nothing locked in: tickets or articles as JSON or CSV."""


def _export_options(since_help: str):
    def decorate(command):
        command = click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
                               help="Write to this file (made whole or not at all). Default: standard output.")(command)
        command = click.option("--since", metavar="DATE|DATETIME", help=since_help)(command)
        return click.option("--format", "fmt", default="json", show_default=True, metavar="json|csv",
                            help="json: an array, one record per line; csv: one row per record, with a header, "
                                 "RFC 4180, UTF-8.")(command)
    return decorate


@export_group.command("tickets")
@_export_options("Only tickets updated at or after it: 2026-03-01 (midnight UTC), 2026-03-01T09:30 (UTC), "
                 "or with an offset.")
@pass_app
def export_tickets(app: App, fmt, since, output):
    """Every ticket, with its mail, notes and SBO notes.

    JSON: each ticket with its customer, times (UTC), messages in order with their attachments (name, type,
    size, sha256), internal notes, and SBO notes with their patrol-log hashes. CSV: one row per ticket,
    the flat fields and counts."""
    _run(app, export.export_tickets, fmt, since, output, "tickets")


@export_group.command("articles")
@_export_options("Only variants updated at or after it: 2026-03-01 (midnight UTC), 2026-03-01T09:30 (UTC), "
                 "or with an offset.")
@pass_app
def export_articles(app: App, fmt, since, output):
    """Every article variant, with its KCS text.

    Each variant's article, language, state, KCS text, keywords, author, and when it was created, updated,
    validated and published (UTC)."""
    _run(app, export.export_articles, fmt, since, output, "article variants")


def _run(app: App, write, fmt: str, since_text: str | None, output: Path | None, things: str) -> None:
    export.check_format(fmt)
    try:
        since = export.parse_since(since_text)
    except PatroldeskError as exc:
        raise PatroldeskError(f"--since: {exc}") from None
    app.database()
    if output is None:
        with _standard_output() as out:
            write(out, fmt, since)
        return
    with _whole_file(output) as out:
        count = write(out, fmt, since)
    click.echo(f"{count} {things} written to {output}")


@contextlib.contextmanager
def _standard_output():
    """Standard output as UTF-8 whatever the locale, without newline translation (CSV ends rows in CRLF)."""
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
    try:
        yield out
        out.flush()
    except BrokenPipeError:  # the reader stopped (`| head`): nothing to say, and nothing more to flush
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    finally:
        with contextlib.suppress(ValueError, OSError):
            out.detach()


@contextlib.contextmanager
def _whole_file(path: Path):
    """Write beside the file and rename at the end: a failed export leaves no half file under its name."""
    partial = path.with_name(path.name + ".part")
    try:
        out = open(partial, "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise PatroldeskError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with out:
            yield out
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
