"""Admins: the mail spool's quarantine, each mail's reason and raw bytes, requeue.

A quarantined mail is kept byte for byte; its page says why the pipeline
refused it (the reason, and the traceback when something crashed). The raw
bytes are only ever offered as a download, never shown inline: they are a
stranger's mail, and a browser must not be asked to render it. Requeueing
does what `patroldesk quarantine retry` does (daemon.ingest.requeue): back in the
queue, and through the pipeline at once, so the page can say what became of it.
"""
from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from daemon.errors import NotFound, PatroldeskError
from daemon.languages import N_
from daemon.ingest import requeue
from daemon.ingest.sources import spool
from daemon.store.models import Inbound, RawMail
from web.access import requires
from web.i18n import said, word

blueprint = Blueprint("spool", __name__, url_prefix="/spool")
SHOWN_STATES = ("quarantined", "discarded")  # the ones a person may send through again
LISTED = 200


@blueprint.route("/")
@requires("admin")
def quarantine():
    state = request.args.get("state", "quarantined")
    if state not in SHOWN_STATES:
        state = "quarantined"
    rows = spool.listing(state, LISTED)
    return render_template("spool/list.html", rows=rows, state=state, states=SHOWN_STATES, limit=LISTED)


def _row(spool_id: int) -> Inbound:
    row = Inbound.select(Inbound, RawMail.id, RawMail.size).join(RawMail).where(Inbound.id == spool_id).first()
    if row is None:
        raise NotFound(N_("no spooled mail %(id)s", id=spool_id))
    return row


@blueprint.route("/<int:spool_id>")
@requires("admin")
def detail(spool_id: int):
    try:
        row = _row(spool_id)
    except NotFound as exc:
        return render_template("error.html", title=_("Not found"), message=said(exc)), 404
    return render_template("spool/detail.html", row=row, origin=_origin(row), retryable=row.state in SHOWN_STATES,
                           ticket=row.message.ticket if row.message_id else None)


def _origin(row: Inbound) -> dict:
    """Where the mail came from (peer, envelope, file, mailbox and UID), as recorded."""
    try:
        detail = json.loads(row.origin_detail or "{}")
    except ValueError:
        return {"recorded": row.origin_detail}
    return detail if isinstance(detail, dict) else {"recorded": row.origin_detail}


@blueprint.route("/<int:spool_id>/raw")
@requires("admin")
def raw(spool_id: int):
    row = Inbound.select(Inbound.id, RawMail.data).join(RawMail).where(Inbound.id == spool_id).first()
    if row is None:
        return render_template("error.html", title=_("Not found"),
                               message=_("no spooled mail %(id)s", id=spool_id)), 404
    return Response(bytes(row.raw.data), mimetype="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="spool-{spool_id}.eml"'})


@blueprint.route("/<int:spool_id>/requeue", methods=["POST"])
@requires("admin")
def requeue_mail(spool_id: int):
    try:
        result = requeue.retry(current_app.config["PATROLDESK"], spool_id)
    except NotFound as exc:
        return render_template("error.html", title=_("Not found"), message=said(exc)), 404
    except PatroldeskError as exc:
        flash(said(exc), "error")
        return redirect(url_for("spool.detail", spool_id=spool_id))
    ticket = f" #{result.ticket}" if result.ticket else ""
    reason = f" ({said(result.reason)})" if result.reason else ""
    category = "error" if result.outcome == "quarantined" else "message"
    flash(_("Spool %(id)s: %(outcome)s%(ticket)s%(reason)s.", id=spool_id, outcome=word(result.outcome), ticket=ticket,
            reason=reason), category)
    return redirect(url_for("spool.detail", spool_id=spool_id))
