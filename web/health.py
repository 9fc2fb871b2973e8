"""Health (/health, /healthz): is the database answering, how is the spool doing, and is mail coming in.

Both need no sign-in, so they show counts and states only: never mail, and nothing an attacker
could aim at (logins, hosts, support addresses, ports). A mailbox without a configured name is
"mailbox N" there, not its login@host; a signed-in admin sees the details.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template
from flask_login import current_user
from peewee import fn

from daemon.config import Config
from daemon.ingest.sources.imap import mailbox_states
from daemon.store.models import Inbound, Ticket
from web.access import PUBLIC, requires

blueprint = Blueprint("health", __name__)


def _figures(config: Config, details: bool) -> dict:
    states = dict(Inbound.select(Inbound.state, fn.COUNT(Inbound.id)).group_by(Inbound.state).tuples())
    mailboxes = _mailboxes(config, details)
    return {
        "status": "degraded" if any(_in_trouble(box) for box in mailboxes) else "ok",
        "database": "ok",
        "spool": {state: states.get(state, 0) for state in ("queued", "processing", "quarantined")},
        "tickets": {"open": Ticket.select().where(Ticket.status.in_(("new", "open"))).count(),
                    "all": Ticket.select().count()},
        "mailboxes": mailboxes,
    }


def _mailboxes(config: Config, details: bool) -> list[dict]:
    """Each IMAP mailbox's name and health; when it failed since when (its error names accounts and hosts)."""
    result = []
    for number, state in enumerate(mailbox_states(config), 1):
        box = {"name": _name(config, number, details), "status": state["status"], "stale": bool(state.get("stale")),
               "last_seen": state.get("last_seen")}
        if details:
            box.update(host=state["host"], port=state["port"], folder=state["folder"])
        if state["status"] == "failing":
            box.update(failing_since=state["failing_since"])
        result.append(box)
    return result


def _name(config: Config, number: int, details: bool) -> str:
    """The configured name; without one, login@host for an admin and "mailbox N" for anyone else."""
    box = config.mailbox[number - 1]
    return box.label if details or box.name else f"mailbox {number}"


def _details() -> bool:
    """Whether an admin asks; loading the session needs the database, which may be the trouble reported."""
    try:
        return current_user.is_authenticated and current_user.can("admin")
    except Exception:  # noqa: BLE001 - then the figures are the public ones, and say the database is down
        return False


def _in_trouble(box: dict) -> bool:
    """Failing, or not touched for a while: this page is served by the daemon itself,
    so a stale mailbox means its poller has stopped, not that the daemon is down."""
    return box["status"] == "failing" or box["stale"]


def _safe_figures(config: Config, details: bool) -> tuple[dict, int]:
    """The figures and the HTTP status: 503 only when the daemon cannot work at all.

    A failing mailbox is 'degraded' with 200: the fault is usually the mail
    server's, and a probe that restarted the daemon over it would help nobody.
    """
    try:
        figures = _figures(config, details)
    except Exception as exc:  # a health page reports failure, it does not raise it
        return {"status": "down", "database": f"unavailable: {type(exc).__name__}",
                "mailboxes": [{"name": _name(config, number, details), "status": "unknown"}
                              for number in range(1, len(config.mailbox) + 1)]}, 503
    return figures, 503 if figures["status"] == "down" else 200


@blueprint.route("/healthz")
@requires(PUBLIC)
def healthz():
    figures, status = _safe_figures(current_app.config["PATROLDESK"], _details())
    return jsonify(figures), status


@blueprint.route("/health")
@requires(PUBLIC)
def index():
    config = current_app.config["PATROLDESK"]
    details = _details()
    figures, status = _safe_figures(config, details)
    return render_template("health.html", figures=figures, config=config, details=details), status
