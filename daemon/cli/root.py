"""The root of the `patroldesk` command and the helpers every area of commands shares.

Failures print one line on standard error and exit non-zero:
2 for configuration, 1 for everything else.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tomllib
from pathlib import Path

import click
import peewee

from daemon import logs
from daemon.config import EMBEDDED, Config, load_config
from daemon.errors import ConfigError, NoInstallation, PatroldeskError
from daemon.knowledge import article_replies, capture, open_flags
from daemon.store import db
from daemon.store.models import User

SETS_UP = ("init", "restore")  # the commands that may make an installation where there is none


class App:
    """What every command needs: the configuration, read once, and the database."""

    def __init__(self, config_path: str | None, command: str | None = None):
        self.config_path = config_path
        self.command = command
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            config = load_config(self.config_path, os.environ)
            if config.source == EMBEDDED and self.command not in SETS_UP and not config.var_dir.is_dir():
                raise NoInstallation(
                    f"no installation here: no configuration file and no {config.var_dir}; "
                    f"point at one with --config PATH or PATROLDESK_CONFIG=PATH, or make one here with "
                    f"`patroldesk init`")
            self._config = config
            logs.configure(config.log.level)
        return self._config

    def database(self, current: bool = True):
        self.refuse_a_missing_database()
        handle = db.open_database(self.config)
        if current:
            db.require_current_schema()
        return handle

    def refuse_a_missing_database(self) -> None:
        """Only `init` makes a SQLite file: any other command would make an empty second database."""
        if self.command not in SETS_UP:
            db.require_sqlite_file(self.config)


pass_app = click.make_pass_decorator(App)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="PATH", envvar="PATROLDESK_CONFIG",
              help="Configuration file (TOML). Default: $PATROLDESK_CONFIG, else the embedded defaults.")
@click.pass_context
def cli(ctx, config_path):
    """patroldesk: an email helpdesk daemon where every closed ticket leaves a patrol report.

    Relative paths in the configuration file are taken from the file's folder; without a file,
    the installation is ./var in the working directory."""
    ctx.obj = App(config_path, ctx.invoked_subcommand)


def main() -> None:
    os.umask(0o077)  # the database, its journal, attachments and sent mail: for the daemon's user only
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


def print_json(obj) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False))


def ticket_number(ref: str) -> int:
    digits = ref.lstrip("#")
    if not digits.isdigit() or len(digits) > 9:
        raise PatroldeskError(f"not a ticket reference: {ref!r} (expected a number like 10001)")
    return int(digits)


def active_user(username: str) -> User:
    user = User.get_or_none(User.username == username)
    if user is None or not user.active:
        raise PatroldeskError(f"no active account {username!r} (see `patroldesk user add`)")
    return user


def read_table_file(path: Path, keys: set[str], what: str) -> dict:
    """A TOML (or, by its suffix, JSON) file of `keys`; anything else is refused naming the file and key."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except UnicodeDecodeError:
        raise PatroldeskError(f"{path}: not UTF-8 text") from None
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PatroldeskError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise PatroldeskError(f"{path}: {what} must be a table of keys ({', '.join(sorted(keys))})")
    unknown = sorted(set(data) - keys)
    if unknown:
        raise PatroldeskError(f"{path}: unknown key {unknown[0]!r} (the keys are {', '.join(sorted(keys))})")
    return data


def parse_flag(text: str | None) -> article_replies.Flag | None:
    """--flag KIND[:detail] as the reply and close commands take it."""
    if not text:
        return None
    kind, _, detail = text.partition(":")
    return article_replies.Flag(kind.strip(), detail.strip())


def echo_capture(result: capture.Capture, number: int, note=None) -> None:
    """What capture did, as the agent reads it after `close` (with the SBO note, shown beside
    the article it matched) or `kb draft`."""
    article = result.article
    if result.action == "drafted":
        click.echo(f"draft article {article.id} written from ticket #{number}: {article.title}")
        if result.removed:
            click.echo("  taken out of the copied text (customer specifics): "
                       + "; ".join(f"{r.kind} {r.text!r}" for r in result.removed))
        if result.searched:
            click.echo("  your searches, offered as keywords: " + ", ".join(result.searched))
        rewrite = [flag for flag in open_flags(article) if flag.kind == "rewrite"]
        if rewrite:
            click.echo(f"  marked for your rewrite before it is validated: {rewrite[0].detail}")
        click.echo(f"  read it: patroldesk kb show {article.id}; improve it: patroldesk kb edit {article.id} ...")
    elif result.action in ("reused", "linked"):
        how = f" (alike {result.score:.0%})" if result.action == "reused" else ""
        verb = "matches" if result.action == "reused" and result.reason else "linked to"
        click.echo(f"ticket #{number} {verb} article {article.id}{how}: {article.title}")
        if result.reason:
            click.echo(f"  {result.reason}")
        click.echo(f"  improve it with what this ticket taught: patroldesk kb edit {article.id} --as USER ...")
        click.echo(f"  the article's resolution now:\n{indent(article.resolution or '(empty)')}")
        if note is not None:
            click.echo(f"  beside it, your note's behaviour:\n{indent(note.behaviour)}")
            if note.cause:
                click.echo(f"  and its cause: {note.cause}")
    elif result.action == "failed":
        click.echo(f"no article captured: {result.reason}", err=True)
    elif result.reason:
        click.echo(f"no article captured: {result.reason}")


def indent(text: str) -> str:
    return "\n".join(f"  {line}" if line.strip() else "" for line in text.splitlines())


def minute(iso: str) -> str:
    return f"{dt.datetime.fromisoformat(iso.removesuffix('Z')):%Y-%m-%d %H:%M} UTC"


def echo_more_exist(column, state: str | None, limit: int, things: str) -> None:
    """Say when a listing of `limit` rows was cut short, counting rows in `state` (or all):
    a silent limit reads as lost tickets or mail."""
    query = column.model.select(column.model.id)
    if state:
        query = query.where(column == state)
    total = query.count()
    if total > limit:
        kind = f"{state} {things}" if state else things
        click.echo(f"showing {limit} of {total} {kind} (newest first); --limit N for more")
