"""The command line of the patrol log: `close`, and `patrol note|correct|review|list|show|verify|export`.

Registered on the `patroldesk` group by daemon.cli; every rule lives in daemon.patrol.logbook.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
from pathlib import Path

import click

from daemon import knowledge, patrol, tickets
from daemon.cli.root import (
    App, active_user, cli, echo_capture, parse_flag, pass_app, print_json, read_table_file, ticket_number,
)
from daemon.errors import PatroldeskError
from daemon.store.models import OUTCOME_KINDS, VERDICTS


def _note_options(command):
    """The note's fields, from flags or from a TOML or JSON file (flags win)."""
    for option in reversed([
        click.option("--file", "note_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Read the note from a .toml or .json file with the keys situation, behaviour, "
                          "outcome, outcome_kind, cause, tags."),
        click.option("--situation", help="What the customer faced, in their context."),
        click.option("--behaviour", help="What you did, step by step."),
        click.option("--outcome", help="What came of it, and why."),
        click.option("--kind", "outcome_kind", type=click.Choice(OUTCOME_KINDS), help="The outcome kind."),
        click.option("--cause", help="The underlying reason, where known (stays internal)."),
        click.option("--tags", help="Product and component tags, comma-separated."),
        click.option("--as", "username", required=True, metavar="USER", help="The agent who writes the note."),
    ]):
        command = option(command)
    return command


def _note(values: dict, tell_behaviour: bool = False) -> patrol.Note:
    from_file = _read_note_file(values.pop("note_file")) if values.get("note_file") else {}
    values.pop("note_file", None)
    merged = {**from_file, **{k: v for k, v in values.items() if v is not None}}
    tags = merged.get("tags", ())
    tags = patrol.tags_ok(tags) if isinstance(tags, str) else tuple(str(t) for t in tags)
    return patrol.Note(situation=str(merged.get("situation", "")), behaviour=str(merged.get("behaviour", "")),
                       outcome=str(merged.get("outcome", "")), outcome_kind=str(merged.get("outcome_kind", "")),
                       cause=str(merged.get("cause", "")), tags=tags,
                       tell_behaviour=bool(merged.get("tell_behaviour", tell_behaviour)))


_NOTE_KEYS = {"situation", "behaviour", "outcome", "outcome_kind", "cause", "tags", "tell_behaviour"}


def _read_note_file(path: Path) -> dict:
    return read_table_file(path, _NOTE_KEYS, "the note")


def _refused(exc: patrol.NoteRefused) -> None:
    click.echo("patroldesk: the note is refused; nothing was written:", err=True)
    for key, why in exc.problems.items():
        click.echo(f"  {key}: {why}", err=True)
    sys.exit(1)


@cli.command("close")
@click.argument("ref")
@_note_options
@click.option("--status", type=click.Choice(("solved", "closed")), default="solved", show_default=True)
@click.option("--tell-behaviour", is_flag=True, help="Tell the customer what was done, not only the outcome.")
@click.option("--no-notice", is_flag=True, help="Send the customer no solved notice.")
@click.option("--article", "article_id", type=int, metavar="ID",
              help="The knowledge article that solved it (a reuse); else the knowledge base is searched.")
@click.option("--flag", "flag_text", metavar="KIND[:DETAIL]",
              help="Flag that article in the same step, e.g. 'outdated:step 3 names the old menu'.")
@click.option("--new-article", is_flag=True,
              help="None of the articles closing asks about solved it: draft a new one from the note.")
@click.option("--title", "article_title", default="", metavar="TEXT",
              help="A draft's title: the problem as the customer would search for it.")
@click.option("--steps", "article_steps", default="", metavar="TEXT",
              help="A draft's resolution: the steps the customer takes (without it, the behaviour is copied "
                   "and the draft is marked for your rewrite).")
@pass_app
def close_command(app: App, ref, status, tell_behaviour, no_notice, username, article_id, flag_text, new_article,
                  article_title, article_steps, **values):
    """Solve or close ticket REF with its SBO note (the patrol report).

    The note's situation, behaviour and outcome must each say something; a
    weak note is refused with a line per field and the ticket stays open.
    The customer gets the solved notice with the outcome (and what was done,
    with --tell-behaviour); the cause stays internal. When an article is
    alike enough to be the problem but not to be linked without asking
    ([knowledge] match_percent to link_percent), nothing is written and the
    candidates are listed: close again with --article ID or --new-article.
    """
    app.database()
    ticket = tickets.get_ticket(ticket_number(ref))
    note = _note(values, tell_behaviour)
    article = knowledge.get_article(article_id) if article_id else None
    try:
        report = patrol.close(app.config, ticket, note, active_user(username), status=status, notify=not no_notice,
                              article=article, article_flag=parse_flag(flag_text), new_article=new_article,
                              article_title=article_title, article_steps=article_steps)
    except knowledge.ChooseArticle as exc:
        click.echo(f"patroldesk: ticket #{ticket.number} may be a problem the knowledge base knows; nothing was "
                   "written. Close again with --article ID for the one that solved it, or --new-article:", err=True)
        for found, score in exc.candidates:
            click.echo(f"  {found.id}  {round(score * 100):>3}% alike  [{found.state}]  {found.title}", err=True)
        sys.exit(1)
    except patrol.NoteRefused as exc:
        _refused(exc)
    except knowledge.ArticleRefused as exc:
        _refused_flag(exc)
    told = "; the customer is told the outcome" if not no_notice else ""
    click.echo(f"ticket #{ticket.number} {status}; patrol report {report.id}{told}")
    echo_capture(report.capture, ticket.number, note=report)
    if report.capture.action == "drafted" and not article_title.strip():
        click.echo(f"  its title came from the mail; state the problem as a customer meets it: patroldesk kb edit "
                   f"{report.capture.article.id} --as {username} --title TEXT (or close with --title)")


def _refused_flag(exc) -> None:
    click.echo("patroldesk: the flag is refused; nothing was written:", err=True)
    for key, why in exc.problems.items():
        click.echo(f"  {key}: {why}", err=True)
    sys.exit(1)


@cli.group("patrol")
def patrol_group():
    """The patrol-report log: SBO notes, their corrections and reviews."""


@patrol_group.command("note")
@click.argument("ref")
@_note_options
@pass_app
def patrol_note(app: App, ref, username, **values):
    """Add an interim SBO note to open ticket REF (before handing it over, say)."""
    app.database()
    ticket = tickets.get_ticket(ticket_number(ref))
    try:
        report = patrol.add_interim(app.config, ticket, _note(values), active_user(username))
    except patrol.NoteRefused as exc:
        _refused(exc)
    click.echo(f"patrol report {report.id} added to ticket #{ticket.number}")


@patrol_group.command("correct")
@click.argument("report_id", type=int)
@_note_options
@pass_app
def patrol_correct(app: App, report_id, username, **values):
    """Correct report REPORT_ID with a new revision; the old one stays in the log."""
    app.database()
    report = patrol.get_report(report_id)
    try:
        corrected = patrol.correct(app.config, report, _note(values), active_user(username))
    except patrol.NoteRefused as exc:
        _refused(exc)
    click.echo(f"patrol report {corrected.id} corrects report {report.id}")


@patrol_group.command("review")
@click.argument("report_id", type=int)
@click.option("--as", "username", required=True, metavar="USER", help="The reviewer (role reviewer or admin).")
@click.option("--verdict", type=click.Choice(VERDICTS), required=True)
@click.option("--analysis", required=True, help="Why it went as it went.")
@click.option("--decision", required=True, help="What to do differently.")
@pass_app
def patrol_review(app: App, report_id, username, verdict, analysis, decision):
    """Review report REPORT_ID: verdict, analysis and decision, signed and dated."""
    app.database()
    try:
        review = patrol.review(app.config, patrol.get_report(report_id), verdict, analysis, decision,
                               active_user(username))
    except patrol.NoteRefused as exc:
        _refused(exc)
    click.echo(f"review {review.id} of report {report_id}: {verdict}")


def _filters(command):
    for option in reversed([
        click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="From this day (UTC), inclusive."),
        click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Up to this day (UTC), exclusive."),
        click.option("--agent", metavar="USER", help="Written by this agent."),
        click.option("--kind", "outcome_kind", type=click.Choice(OUTCOME_KINDS)),
        click.option("--tag"),
        click.option("--cause", metavar="WORDS", help="The cause contains these words."),
        click.option("--reviewed/--unreviewed", default=None, help="Only reviewed, or only unreviewed, reports."),
        click.option("--all-revisions", is_flag=True, help="Show corrected revisions too."),
        click.option("--newest-first", is_flag=True,
                     help="Plain date order (default: not resolved, no response and workarounds first)."),
        click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1)),
    ]):
        command = option(command)
    return command


def _listed(since, until, agent, outcome_kind, tag, cause, reviewed, all_revisions, newest_first, limit):
    return patrol.list_reports(since=since, until=until, agent=agent, outcome_kind=outcome_kind, tag=tag,
                               cause=cause, reviewed=reviewed, current_only=not all_revisions,
                               attention_first=not newest_first, limit=limit)


@patrol_group.command("list")
@_filters
@click.option("--json", "as_json", is_flag=True, help="One JSON object per report.")
@pass_app
def patrol_list(app: App, as_json, **filters):
    """The log, reports that did not end well first."""
    app.database()
    for report in _listed(**filters):
        if as_json:
            print_json(patrol.report_dict(report))
            continue
        reviewed = "reviewed" if report.reviews.count() else "not reviewed"
        corrected = f", corrects {report.corrects_id}" if report.corrects_id else ""
        author = report.author.username if report.author_id else "-"
        click.echo(f"{report.id:>6}  #{report.ticket.number:<7} {report.outcome_kind:<13} {report.kind:<8} "
                   f"{report.created_at:%Y-%m-%d %H:%M}  {author:<12} {reviewed}{corrected}  "
                   f"{_first_words(report.situation)}")


def _first_words(text: str, width: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[:width - 1] + "…"


@patrol_group.command("show")
@click.argument("report_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def patrol_show(app: App, report_id, as_json):
    """A report with its ticket's facts, every revision and every review."""
    app.database()
    versions = patrol.revisions(patrol.get_report(report_id))
    if as_json:
        print_json([patrol.report_dict(v) for v in versions])
        return
    for version in versions:
        shown = patrol.report_dict(version)
        latest = " (current)" if version is versions[-1] else f" (corrected by {versions[versions.index(version) + 1].id})"
        click.echo(f"=== report {shown['id']}{latest}: ticket #{shown['ticket']}, {shown['kind']}, "
                   f"{shown['outcome_kind']}, by {shown['author'] or '-'} at {shown['created_at']}")
        for key in ("situation", "behaviour", "outcome", "cause"):
            if shown[key]:
                click.echo(f"{key.capitalize()}:\n  " + "\n  ".join(shown[key].splitlines()))
        if shown["tags"]:
            click.echo("Tags: " + ", ".join(shown["tags"]))
        facts = shown["facts"]
        click.echo(f"Facts: {facts['customer']['email']}, opened {facts['opened_at']}, "
                   f"{facts['messages']['inbound']} in / {facts['messages']['outbound']} out, "
                   f"first response {facts['first_response_at'] or 'none'}")
        if shown["customer_hears"]:
            click.echo("The customer was told:\n  " + "\n  ".join(shown["customer_hears"].splitlines()))
        for review in shown["reviews"]:
            click.echo(f"--- review {review['id']} by {review['reviewer']} at {review['created_at']}: "
                       f"{review['verdict']}\n  Analysis: {review['analysis']}\n  Decision: {review['decision']}")
        click.echo("")


@patrol_group.command("verify")
@pass_app
def patrol_verify(app: App):
    """Prove that no report or review was changed, inserted or removed behind patroldesk's back."""
    app.database()
    result = patrol.verify(app.config)
    if result.ok:
        click.echo(f"the patrol log verifies: {result.reports} reports (newest {result.reports_head or '-'}) and "
                   f"{result.reviews} reviews (newest {result.reviews_head or '-'}), each chained to the one before")
        return
    for found in result.breaks:
        click.echo(f"patroldesk: the chain breaks at {found}", err=True)
    sys.exit(1)


_CSV_COLUMNS = ("id", "seq", "ticket", "kind", "corrects", "outcome_kind", "author", "created_at", "situation",
                "behaviour", "outcome", "cause", "tags", "reviews", "hash")


@patrol_group.command("export")
@_filters
@click.option("--format", "fmt", type=click.Choice(("csv", "json")), default="json", show_default=True)
@pass_app
def patrol_export(app: App, fmt, **filters):
    """Write the (filtered) log to standard output as CSV or JSON."""
    app.database()
    rows = [patrol.report_dict(r) for r in _listed(**filters)]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_CSV_COLUMNS)
    for row in rows:
        writer.writerow([", ".join(row["tags"]) if key == "tags" else
                         "; ".join(f"{r['verdict']} by {r['reviewer']}" for r in row["reviews"]) if key == "reviews"
                         else row[key] for key in _CSV_COLUMNS])
    click.echo(out.getvalue(), nl=False)



@patrol_group.command("digest")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="From this day (UTC). Default: digest_days ago.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]),
              help="Up to this day (UTC), exclusive. Default: today, so the last whole days.")
@click.option("--send", is_flag=True, help="Queue it to the reviewers instead of printing it.")
@click.option("--json", "as_json", is_flag=True, help="Print its figures as JSON.")
@pass_app
def patrol_digest(app: App, since, until, send, as_json):
    """The reviewers' digest of a period: printed, or with --send queued to them."""
    from daemon.patrol import digest
    from daemon.store.models import utcnow
    app.database()
    until = until or utcnow().replace(hour=0, minute=0, second=0, microsecond=0)  # whole days, as the schedule
    since = since or until - dt.timedelta(days=app.config.patrol.digest_days)
    if since >= until:
        raise PatroldeskError("--since must be before --until")
    if send:
        rows = digest.send(app.config, since, until)
        for row in rows:
            click.echo(f"queued outbox {row.id}: {row.subject}")
        if not rows:
            click.echo("not queued (see the log line above)")
        return
    built = digest.build(since, until)
    if as_json:
        print_json(digest.as_dict(built))
        return
    rendered = digest.render(app.config, built)
    click.echo(f"Subject: {rendered.subject}\n\n{rendered.text}", nl=False)
