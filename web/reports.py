"""Reports with pictures: the dashboard's charts, drawn as SVG on the server.

Each chart is a table of figures from daemon.patrol.dashboard; the page shows the
chart as an image with the same table folded under it (for screen readers,
and for anyone who wants the numbers), and a route per chart draws it with
pygal. A chart is a file of its own, not inline markup, so the pages keep
their strict Content-Security-Policy; the SVG gets a policy that lets its
inline style work and nothing load. pygal is told to add no tooltip script,
and its comments (which carry its project's web address) and its script
element (the configuration its tooltips would read) are taken out, so a
chart names no other place at all.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from typing import Callable

import pygal
from flask import Blueprint, Response, abort, g, render_template, request
from flask_babel import gettext as _, lazy_gettext
from pygal.style import Style

from daemon.patrol import dashboard as figures
from daemon.patrol.dashboard import Period, PeriodRefused
from daemon.store.models import OUTCOME_KINDS
from web.access import requires
from web.i18n import said, word

blueprint = Blueprint("reports", __name__, url_prefix="/reports")

SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"


def _style(*colours: str) -> Style:
    """The console's look (its ink, its font), with these series colours."""
    return Style(background="#ffffff", plot_background="#ffffff", foreground="#1d2733",
                 foreground_strong="#1d2733", foreground_subtle="#5b6675", font_family="system-ui, sans-serif",
                 opacity=".85", opacity_hover="1", colors=colours, title_font_size=20, legend_font_size=16,
                 label_font_size=13, major_label_font_size=13, no_data_font_size=36)


_STYLE = _style("#1f5f99", "#d9822b", "#1f6b3a", "#a11a1a", "#6f4e9c", "#8a5a00", "#5b6675", "#2b8a9c")
# Good ends green, bad ends red, the rest between; in OUTCOME_KINDS' order.
_OUTCOME_COLOURS = {"resolved": "#1f6b3a", "workaround": "#7fae5a", "not-resolved": "#a11a1a",
                    "escalated": "#d9822b", "duplicate": "#8a94a3", "no-response": "#6f4e9c"}
_MOST_X_LABELS = 12  # more would overlap; the rest are in the table


# A chart is a table ------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    name: str
    values: list
    charted: bool = True  # False: in the table only (counts behind a rate, say)


@dataclass(frozen=True)
class Table:
    heading: str  # what the labels are: a day, a week, a search
    labels: list[str]
    columns: list[Column] = field(default_factory=list)

    def rows(self) -> list[list[str]]:
        return [[label, *(_cell(column.values[n]) for column in self.columns)]
                for n, label in enumerate(self.labels)]


def _cell(value) -> str:
    if value is None:
        return "–"
    return f"{value:.1f}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    caption: str  # what the figures mean, under the chart
    kind: type  # the pygal chart
    table: Callable[[Period], Table]
    options: dict = field(default_factory=dict)  # more of pygal's settings, for this chart


def _volume(span: Period) -> Table:
    days = figures.volume(span)
    return Table(_("Day"), [d.day for d in days], [Column(_("opened"), [d.opened for d in days]),
                                                    Column(_("closed"), [d.closed for d in days])])


def _outcomes(span: Period) -> Table:
    weeks = figures.outcomes(span)
    kinds = list(weeks[0].counts) if weeks else list(OUTCOME_KINDS)
    return Table(_("Week of"), [w.week for w in weeks],
                 [Column(word(kind), [w.counts[kind] for w in weeks]) for kind in kinds])


def _first_response(span: Period) -> Table:
    weeks = figures.first_response(span)
    return Table(_("Week opened"), [w.week for w in weeks], [
        Column(_("answered"), [w.count for w in weeks], charted=False),
        Column(_("not answered yet"), [w.waiting for w in weeks], charted=False),
        Column(_("median hours"), [w.median for w in weeks]), Column(_("p90 hours"), [w.p90 for w in weeks])])


def _time_to_close(span: Period) -> Table:
    weeks = figures.time_to_close(span)
    return Table(_("Week closed"), [w.week for w in weeks], [
        Column(_("closed"), [w.count for w in weeks], charted=False),
        Column(_("median hours"), [w.median for w in weeks]), Column(_("p90 hours"), [w.p90 for w in weeks])])


def _knowledge(span: Period) -> list[figures.WeekKnowledge]:
    """Computed once per request, though two tables show it (link rate, reuse against create)."""
    memo = g.setdefault("report_knowledge", {})
    if span not in memo:
        memo[span] = figures.knowledge(span)
    return memo[span]


def _link_rate(span: Period) -> Table:
    weeks = _knowledge(span)
    return Table(_("Week closed"), [w.week for w in weeks], [
        Column(_("closed"), [w.closed for w in weeks], charted=False),
        Column(_("linked"), [w.linked for w in weeks], charted=False),
        Column(_("link rate %"), [None if w.link_rate is None else round(100 * w.link_rate, 1) for w in weeks])])


def _reuse(span: Period) -> Table:
    weeks = _knowledge(span)
    return Table(_("Week of"), [w.week for w in weeks], [
        Column(_("reused"), [w.reused for w in weeks]), Column(_("created"), [w.created for w in weeks]),
        Column(_("known, %"), [None if w.known_share is None else round(w.known_share * 100) for w in weeks],
               charted=False)])


def _gaps(span: Period) -> Table:
    gaps = figures.gaps(span)
    return Table(_("Searched for"), [" · ".join(g.wordings[:3]) or g.words for g in gaps], [
        Column(_("searches"), [g.searches for g in gaps]),
        Column(_("found nothing"), [g.found_nothing for g in gaps]),
        Column(_("tickets"), [g.tickets for g in gaps], charted=False),
        Column(_("days open"), [g.age_days() for g in gaps], charted=False)])


def _self_service(span: Period) -> Table:
    weeks = figures.self_service(span)
    return Table(_("Week of"), [w.week for w in weeks], [
        Column(_("solved"), [w.yes for w in weeks]), Column(_("not solved"), [w.no for w in weeks]),
        Column(_("solved, %"), [None if w.success_rate is None else round(w.success_rate * 100) for w in weeks],
               charted=False)])


def _deadlines(span: Period) -> Table:
    weeks = figures.deadlines(span)
    return Table(_("Week of"), [w.week for w in weeks], [
        Column(_("first answer late"), [w.first_answer_breaches for w in weeks]),
        Column(_("solved late"), [w.resolution_breaches for w in weeks]),
        Column(_("warned"), [w.warnings for w in weeks], charted=False)])


def _article_quality(span: Period) -> Table:
    weeks = figures.article_quality(span)
    agents = sorted({name for week in weeks for name in week.agents})
    return Table(_("Week of"), [w.week.isoformat() for w in weeks], [
        Column(_("team"), [w.team.index for w in weeks]),
        *(Column(name, [w.agents[name].index if name in w.agents else None for w in weeks]) for name in agents),
        Column(_("scored"), [w.team.scored for w in weeks], charted=False),
        Column(_("drawn"), [w.team.sampled for w in weeks], charted=False)])


CHARTS = {chart.name: chart for chart in (
    Chart("volume", lazy_gettext("Tickets opened and closed per day"),
          lazy_gettext("A ticket is closed on the day its closing SBO note was written; "
                       "one closed again counts again."),
          pygal.Bar, _volume),
    Chart("outcomes", lazy_gettext("Outcomes per week"),
          lazy_gettext("Closing notes by outcome kind, in the week of the close; "
                       "a corrected note counts with its newest kind."),
          pygal.StackedBar, _outcomes, {"style": _style(*_OUTCOME_COLOURS.values())}),
    Chart("first-response", lazy_gettext("Hours to first response"),
          lazy_gettext("From opening to a person's first reply, median and 90th percentile, by the week the ticket was "
                       "opened; tickets not answered yet are counted apart."), pygal.Line, _first_response),
    Chart("time-to-close", lazy_gettext("Hours to close"),
          lazy_gettext("From opening to the ticket's first closing note, median and 90th percentile, by the week of "
                       "that close."), pygal.Line, _time_to_close),
    Chart("deadlines", lazy_gettext("Deadlines breached per week"),
          lazy_gettext("First answers and solutions that came later than promised, counted in the team's business "
                       "hours, by the week the breach was told to the assignee and reviewers; warnings (at "
                       "[sla] warn_percent of the time) are counted apart."),
          pygal.StackedBar, _deadlines, {"style": _style("#a11a1a", "#d4820b")}),
    Chart("link-rate", lazy_gettext("Link rate per week"),
          lazy_gettext("Closed tickets linked to a knowledge article, out of all closed that week."),
          pygal.Line, _link_rate, {"range": (0, 100)}),
    Chart("reuse", lazy_gettext("Articles reused and created per week"),
          lazy_gettext("Links made that week: to an article the ticket reused (or was answered from), "
                       "or to one it created."),
          pygal.Bar, _reuse),
    Chart("gaps", lazy_gettext("Top knowledge gaps"),
          lazy_gettext("Searches made at least twice in the period that found nothing anyone then used; "
                       "rewordings and other languages count as one search, and a gap an article written "
                       "or linked since covers is closed."),
          pygal.HorizontalBar, _gaps),
    Chart("self-service", lazy_gettext("Help center: did the article solve it?"),
          lazy_gettext("Readers' answers on the published articles of the help center, by week: the self-service "
                       "success KCS measures."),
          pygal.StackedBar, _self_service, {"style": _style("#1f6b3a", "#a11a1a")}),
    Chart("article-quality", lazy_gettext("Article Quality Index per week"),
          lazy_gettext("Reviewers' scores (0 to 100) of the sample drawn of each agent's new and changed articles, "
                       "on the KCS checklist, by the week the articles were written; the team's is the mean of "
                       "all its scored samples."),
          pygal.Line, _article_quality, {"range": (0, 100)}),
)}


# Drawing -----------------------------------------------------------------------------

def _offline(root):
    """pygal's XML filter: drop comments and scripts, so nothing in the chart names another place."""
    for parent in list(root.iter()):
        for child in list(parent):
            if callable(child.tag) or str(child.tag).rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return root


def _settings(chart: Chart, labels: int) -> dict:
    """pygal's settings: no script (js=[]), only its own CSS files, inlined; at most a dozen x labels."""
    settings = dict(
        title=str(chart.title), style=_STYLE, js=[], width=800, height=420,
        legend_at_bottom=True, no_data_text=_("No data"), truncate_label=40, truncate_legend=30,
        x_label_rotation=0 if chart.kind is pygal.HorizontalBar else 30, show_minor_x_labels=False,
        x_labels_major_every=max(1, math.ceil(labels / _MOST_X_LABELS)), include_x_axis=True)
    return {**settings, **chart.options}


def draw(chart: Chart, table: Table) -> bytes:
    """The chart as a standalone SVG document."""
    graph = chart.kind(**_settings(chart, len(table.labels)))
    graph.add_xml_filter(_offline)
    # pygal draws a horizontal chart's first label at the bottom; the table's first row belongs on top
    order = slice(None, None, -1) if chart.kind is pygal.HorizontalBar else slice(None)
    graph.x_labels = table.labels[order]
    charted = [column for column in table.columns if column.charted]
    for column in charted:
        graph.add(column.name, column.values[order])
    counts = None if chart.kind is pygal.HorizontalBar else _whole_steps(charted, chart.kind is pygal.StackedBar)
    if counts:
        graph.y_labels = counts
    return graph.render()


def _whole_steps(columns: list[Column], stacked: bool) -> list[int] | None:
    """Axis steps for counts: whole numbers (no 0.2 of a ticket), about eight of them; None for other values."""
    values = [value for column in columns for value in column.values if value is not None]
    if not values or not all(isinstance(value, int) for value in values):
        return None
    if stacked:
        peak = max(sum(value or 0 for value in stack) for stack in zip(*(column.values for column in columns)))
    else:
        peak = max(values)
    step = max(1, math.ceil(peak / 8))
    return list(range(0, peak + step, step))


# Routes ------------------------------------------------------------------------------

def _period() -> tuple[Period, str]:
    """The period asked for, or the default and why the one asked for was not used."""
    try:
        return figures.period_of(request.args.get("days")), ""
    except PeriodRefused as refused:
        return figures.period(), _("%(problem)s; showing the last %(days)s days.", problem=said(refused),
                                   days=figures.DEFAULT_DAYS)


@blueprint.route("/")
@requires("reviewer")
def dashboard():
    span, problem = _period()
    charts = [(chart, chart.table(span)) for chart in CHARTS.values()]
    return render_template("reports/dashboard.html", title=_("Reports"), span=span, charts=charts, problem=problem,
                           typed=request.args.get("days") or str(span.days),
                           shortest=figures.SHORTEST, longest=figures.LONGEST)


@blueprint.route("/new-problems.csv")
@requires("reviewer")
def new_problems_csv():
    """The period's new problems (articles drafted from a ticket), for product teams' spreadsheets."""
    span, _problem = _period()
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(figures.new_problems_table(span))
    response = Response(out.getvalue(), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="new-problems-{span.days}-days.csv"'
    return response


@blueprint.route("/charts/<name>.svg")
@requires("reviewer")
def chart(name: str):
    found = CHARTS.get(name)
    if found is None:
        abort(404)
    span, _ = _period()  # the page says what was wrong with the period; the image just uses the default
    response = Response(draw(found, found.table(span)), content_type="image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_POLICY
    return response
