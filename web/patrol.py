"""Reviewers: the patrol-report log, a report with its revisions and reviews, the review form.

A review may carry the rule the reviewer draws from the case, as a new
policy. Both are written in one transaction: a policy that cannot be saved
takes its review back with it, so the form comes back whole, never half sent.
"""
from __future__ import annotations

import datetime as dt
import json

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from peewee import JOIN

from daemon import patrol
from daemon.errors import NotFound
from daemon.patrol import policies
from daemon.store.db import database
from daemon.store.models import OUTCOME_KINDS, VERDICTS, Customer, PatrolReport, PatrolReview, Ticket, User
from web.access import me, requires
from web.i18n import said, word
from web.params import number

blueprint = Blueprint("patrol", __name__, url_prefix="/patrol")

PER_PAGE = 50
_FILTERS = ("since", "until", "agent", "kind", "tag", "cause", "reviewed", "all", "order")
_REVIEW_FIELDS = ("verdict", "analysis", "decision")
_POLICY_FIELDS = ("policy_name", "policy_condition", "policy_action", "policy_description")


# The log ------------------------------------------------------------------------

@blueprint.route("/")
@requires("reviewer")
def log():
    values = {key: request.args.get(key, "").strip() for key in _FILTERS}
    filters, errors = _filters(values)
    page = page_number()
    rows, more = ([], False) if errors else _page_of(filters, page)
    args = {key: value for key, value in values.items() if value}
    return render_template("patrol/log.html", rows=rows, reviewed=_reviewed(rows), values=values, errors=errors,
                           page=page, more=more, args=args, kinds=[(k, word(k)) for k in OUTCOME_KINDS],
                           agents=[(u.username, u.username) for u in User.select().order_by(User.username)]), \
        400 if errors else 200


def page_number() -> int:
    """The ?page= asked for; anything but a positive number is the first page."""
    return number(request.args.get("page"), largest=100_000) or 1


def _filters(values: dict) -> tuple[dict, dict]:
    """The arguments of patrol.list_reports the form asks for, and a message per field it cannot read."""
    errors: dict[str, str] = {}
    since, last_day = _day(values, "since", errors), _day(values, "until", errors)
    if since and last_day and since > last_day:
        errors["until"] = _("the last day comes after the first")
    if values["kind"] and values["kind"] not in OUTCOME_KINDS:
        errors["kind"] = _("one of %(kinds)s", kinds=", ".join(word(kind) for kind in OUTCOME_KINDS))
    if values["reviewed"] not in ("", "yes", "no"):
        errors["reviewed"] = _("reviewed, not reviewed, or either")
    return {
        "since": since, "until": last_day + dt.timedelta(days=1) if last_day else None,  # the last day is included
        "agent": values["agent"] or None, "outcome_kind": values["kind"] or None, "tag": values["tag"] or None,
        "cause": values["cause"] or None, "reviewed": {"yes": True, "no": False}.get(values["reviewed"]),
        "current_only": not values["all"], "attention_first": values["order"] != "newest",
    }, errors


def _day(values: dict, key: str, errors: dict) -> dt.datetime | None:
    if not values[key]:
        return None
    try:
        return dt.datetime.strptime(values[key], "%Y-%m-%d")
    except ValueError:
        errors[key] = _("a day as YYYY-MM-DD, not %(typed)r", typed=values[key])
        return None


def _page_of(filters: dict, page: int) -> tuple[list[PatrolReport], bool]:
    """One page of the log in the domain's order, and whether there is a next one."""
    rows = patrol.list_reports(**filters, limit=PER_PAGE + 1, offset=(page - 1) * PER_PAGE)
    return rows[:PER_PAGE], len(rows) > PER_PAGE


def _reviewed(rows: list[PatrolReport]) -> set[int]:
    """Which of these reports have at least one review (one query for the page)."""
    if not rows:
        return set()
    return {r.report_id for r in PatrolReview.select(PatrolReview.report)
            .where(PatrolReview.report.in_([row.id for row in rows]))}


# A report and its review ---------------------------------------------------------

@blueprint.route("/<int:report_id>")
@requires("reviewer")
def report(report_id: int):
    found = _report_or_none(report_id)
    if found is None:
        return _missing(report_id)
    return _report_page(found, {"verdict": VERDICTS[0]}, {})


@blueprint.route("/<int:report_id>/review", methods=["POST"])
@requires("reviewer")
def review(report_id: int):
    found = _report_or_none(report_id)
    if found is None:
        return _missing(report_id)
    values = {key: request.form.get(key, "") for key in (*_REVIEW_FIELDS, *_POLICY_FIELDS)}
    written, policy, errors = _write_review(found, values)
    if errors:
        return _report_page(found, values, errors, status=400)
    verdict = word(written.verdict)
    if policy:
        flash(_("Review %(id)s written (%(verdict)s); policy %(policy)s saved.", id=written.id, verdict=verdict,
                policy=policy.name))
    else:
        flash(_("Review %(id)s written (%(verdict)s).", id=written.id, verdict=verdict))
    return redirect(url_for("patrol.report", report_id=found.id))


class _TakeBack(Exception):
    """Raised inside the transaction to undo a review whose policy is refused."""


def _write_review(found: PatrolReport, values: dict):
    """(review, policy or None, {}) when written; (None, None, problems per field) when refused."""
    wants_policy = any(values[key].strip() for key in _POLICY_FIELDS)
    problems = _policy_problems(values) if wants_policy else {}
    policy = None
    try:
        with database.atomic():
            written = patrol.review(current_app.config["PATROLDESK"], found, values["verdict"], values["analysis"],
                                    values["decision"], me())
            if problems:
                raise _TakeBack()
            if wants_policy:
                policy = policies.save_policy(values["policy_name"], values["policy_condition"],
                                              values["policy_action"], values["policy_description"], user=me(),
                                              from_review=written)
    except patrol.NoteRefused as exc:
        return None, None, {**{key: said(why) for key, why in exc.problems.items()}, **problems}
    except policies.PolicyRefused as exc:  # the condition and action passed already: it is the name
        return None, None, {"policy_name": said(exc)}
    except _TakeBack:
        return None, None, problems
    return written, policy, {}


def _policy_problems(values: dict) -> dict[str, str]:
    """The policy's condition and action, checked by the domain before anything is written."""
    problems = {}
    for key, check in (("policy_condition", policies.compile_condition), ("policy_action", policies.check_action)):
        try:
            check(values[key])
        except policies.PolicyRefused as exc:
            problems[key] = said(exc)
    return problems


def _report_or_none(report_id: int) -> PatrolReport | None:
    try:
        return patrol.get_report(report_id)
    except NotFound:
        return None


def _missing(report_id: int):
    return render_template("error.html", title=_("No such report"),
                           message=_("There is no patrol report %(id)s.", id=report_id)), 404


def _report_page(found: PatrolReport, values: dict, errors: dict, status: int = 200):
    versions = patrol.revisions(found)
    ticket = Ticket.get_by_id(found.ticket_id)
    reviews = list(PatrolReview.select(PatrolReview, User)
                   .join(User, JOIN.LEFT_OUTER, on=(PatrolReview.reviewer == User.id))
                   .where(PatrolReview.report.in_([v.id for v in versions])).order_by(PatrolReview.seq))
    return render_template("patrol/report.html", report=found, versions=versions, latest=versions[-1],
                           ticket=ticket, customer=Customer.get_by_id(ticket.requester_id),
                           facts=json.loads(found.facts or "{}"), tags=json.loads(found.tags or "[]"),
                           reviews=reviews, values=values, errors=errors,
                           verdicts=[(v, word(v)) for v in VERDICTS], actions=policies.ACTIONS,
                           variables=policies.VARIABLES), status
