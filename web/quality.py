"""The Article Quality Index in the console: the samples waiting for a score, drawing a week's, scoring one.

Every rule is daemon.knowledge.quality's (what is drawn, who may score, how a
score counts); a refused score re-renders with each unanswered item marked and
every answer kept. The index itself is on the dashboard (web.reports).
"""
from __future__ import annotations

import datetime as dt
import json

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from daemon.errors import NotFound, PatroldeskError
from daemon.knowledge import quality
from daemon.store.models import Article, QualitySample, utcnow
from web.access import me, requires
from web.i18n import said
from web.knowledge import language_label

blueprint = Blueprint("quality", __name__, url_prefix="/kb/quality")
RECENT_WEEKS = 8


@blueprint.route("/")
@requires("reviewer")
def samples():
    """What waits for a score (this reviewer's first), and the last weeks' index per agent."""
    last, now = quality.last_week(), quality.week_of(utcnow())
    return render_template("knowledge/quality.html", waiting=quality.waiting_for(me()),
                           weeks=list(reversed(quality.weekly(now - dt.timedelta(weeks=RECENT_WEEKS - 1), now))),
                           last_week=last, titles=_titles(), size=_size(), language_label=language_label)


def _size() -> int:
    return current_app.config["PATROLDESK"].knowledge.quality_sample or quality.DEFAULT_SIZE


def _titles() -> dict[int, str]:
    """Each waiting sample's article's title (what the list shows), read in one query."""
    waiting = QualitySample.select(QualitySample.article).where(QualitySample.scored_at.is_null())
    return {a.id: a.title for a in Article.with_variants(list(Article.select().where(Article.id.in_(waiting))))}


@blueprint.route("/draw", methods=["POST"])
@requires("reviewer")
def draw():
    """Draw last week's sample now (the scheduler draws it too; drawing twice adds none twice)."""
    week = quality.last_week()
    drawn = quality.draw(week, _size())
    flash(ngettext("%(num)s article drawn from the week of %(week)s.", "%(num)s articles drawn from the week of %(week)s.",
                   len(drawn), week=week.isoformat()))
    return redirect(url_for("quality.samples"))


@blueprint.route("/<int:sample_id>", methods=["GET", "POST"])
@requires("reviewer")
def score(sample_id: int):
    try:
        sample = quality.get_sample(sample_id)
    except NotFound:
        return render_template("error.html", title=_("No such sample"),
                               message=_("There is no quality sample %(id)s.", id=sample_id)), 404
    if request.method == "GET":
        return _score_page(sample, _answers_of(sample), {}, sample.note)
    answers = {item.name: request.form.get(item.name, "") for item in quality.CHECKLIST}
    note = request.form.get("note", "")
    try:
        quality.score(sample, me(), answers, note)
    except quality.ScoreRefused as refused:
        return _score_page(sample, answers, refused.problems, note, 400)
    except PatroldeskError as refused:  # NotAllowed
        return _score_page(sample, answers, {"sample": refused}, note, 403)
    flash(_("Article %(id)s scored %(score)s.", id=sample.article_id, score=f"{sample.score:.0f}"))
    return redirect(url_for("quality.samples"))


def _answers_of(sample: QualitySample) -> dict[str, str]:
    """A scored sample's answers as the form gives them back; none for one not scored."""
    said_as = {True: "yes", False: "no", None: "none"}
    return {name: said_as[value] for name, value in quality.checks_of(sample).items()}


def _score_page(sample: QualitySample, answers: dict, errors: dict, note: str, status: int = 200):
    text = quality.sampled_text(sample)
    return render_template("knowledge/quality_score.html", sample=sample, text=text,
                           keywords=json.loads(text.keywords or "[]") if text else [], language_label=language_label,
                           checklist=quality.CHECKLIST, answers=answers, hints=quality.hints(sample),
                           errors={key: said(why) for key, why in errors.items()}, note=note,
                           article=Article.get_or_none(Article.id == sample.article_id),
                           own=sample.author_id == me().id), status
