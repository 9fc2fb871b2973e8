"""Health: is the database answering, and how is the spool doing."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template
from peewee import fn

from daemon.models import Inbound, Ticket

blueprint = Blueprint("health", __name__)


def _figures() -> dict:
    states = dict(Inbound.select(Inbound.state, fn.COUNT(Inbound.id)).group_by(Inbound.state).tuples())
    return {
        "database": "ok",
        "spool": {state: states.get(state, 0) for state in ("queued", "processing", "quarantined")},
        "tickets": {"open": Ticket.select().where(Ticket.status.in_(("new", "open"))).count(),
                    "all": Ticket.select().count()},
    }


def _safe_figures() -> tuple[dict, int]:
    try:
        return _figures(), 200
    except Exception as exc:  # a health page reports failure, it does not raise it
        return {"database": f"unavailable: {type(exc).__name__}"}, 503


@blueprint.route("/healthz")
def healthz():
    figures, status = _safe_figures()
    return jsonify(figures), status


@blueprint.route("/")
def index():
    figures, status = _safe_figures()
    config = current_app.config["PATROLDESK"]
    return render_template("health.html", figures=figures, config=config), status
