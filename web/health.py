"""Health (/health, /healthz): is the database answering, how is the spool doing, and is mail coming in.

The page is unauthenticated, so it shows counts and states only, never mail.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template
from peewee import fn

from daemon.config import Config
from daemon.ingest.sources.imap import mailbox_states
from daemon.store.models import Inbound, Ticket
from web.access import PUBLIC, requires

blueprint = Blueprint("health", __name__)


def _figures(config: Config) -> dict:
    states = dict(Inbound.select(Inbound.state, fn.COUNT(Inbound.id)).group_by(Inbound.state).tuples())
    mailboxes = _mailboxes(config)
    return {
        "status": "degraded" if any(_in_trouble(box) for box in mailboxes) else "ok",
        "database": "ok",
        "spool": {state: states.get(state, 0) for state in ("queued", "processing", "quarantined")},
        "tickets": {"open": Ticket.select().where(Ticket.status.in_(("new", "open"))).count(),
                    "all": Ticket.select().count()},
        "mailboxes": mailboxes,
    }


def _mailboxes(config: Config) -> list[dict]:
    """Each IMAP mailbox's name and health; the error text only while it is failing."""
    result = []
    for state in mailbox_states(config):
        box = {"name": state["name"], "status": state["status"], "stale": bool(state.get("stale")),
               "last_seen": state.get("last_seen")}
        if state["status"] == "failing":
            # Not the error text: it names accounts and hosts, and this page has no sign-in.
            box.update(failing_since=state["failing_since"])
        result.append(box)
    return result


def _in_trouble(box: dict) -> bool:
    """Failing, or not touched for a while: this page is served by the daemon itself,
    so a stale mailbox means its poller has stopped, not that the daemon is down."""
    return box["status"] == "failing" or box["stale"]


def _safe_figures(config: Config) -> tuple[dict, int]:
    """The figures and the HTTP status: 503 only when the daemon cannot work at all.

    A failing mailbox is 'degraded' with 200: the fault is usually the mail
    server's, and a probe that restarted the daemon over it would help nobody.
    """
    try:
        figures = _figures(config)
    except Exception as exc:  # a health page reports failure, it does not raise it
        return {"status": "down", "database": f"unavailable: {type(exc).__name__}",
                "mailboxes": [{"name": box.label, "status": "unknown"} for box in config.mailbox]}, 503
    return figures, 503 if figures["status"] == "down" else 200


@blueprint.route("/healthz")
@requires(PUBLIC)
def healthz():
    figures, status = _safe_figures(current_app.config["PATROLDESK"])
    return jsonify(figures), status


@blueprint.route("/health")
@requires(PUBLIC)
def index():
    config = current_app.config["PATROLDESK"]
    figures, status = _safe_figures(config)
    return render_template("health.html", figures=figures, config=config), status
