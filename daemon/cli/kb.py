"""The command line of the knowledge base: `patroldesk kb ...`.

Registered on the `patroldesk` group by daemon.cli; every rule lives in
daemon.knowledge: articles, capture, article_replies and figures.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from daemon import knowledge, tickets
from daemon.cli.root import (
    App, active_user, cli, echo_capture, indent, pass_app, print_json, read_table_file, ticket_number,
)
from daemon.knowledge import ArticleText, article_replies, capture, figures
from daemon.store.models import ARTICLE_STATES, FLAG_KINDS, Article


@cli.group("kb")
def kb_group():
    """Knowledge articles: search, read, draft, improve, validate, publish, flag; gaps and figures."""


def _refused(exc: knowledge.ArticleRefused) -> None:
    click.echo("patroldesk: refused; nothing was written:", err=True)
    for key, why in exc.problems.items():
        click.echo(f"  {key}: {why}", err=True)
    sys.exit(1)


def _article_line(article: Article, flags: int) -> str:
    flagged = f"  [{flags} flag{'s' * (flags != 1)}]" if flags else ""
    return f"{article.id:>6}  {article.state:<13} {article.title}{flagged}"


@kb_group.command("search")
@click.argument("text")
@click.option("--ticket", "ref", help="The ticket you are working on (the search is logged for it).")
@click.option("--as", "username", metavar="USER", help="Who searches (logged).")
@click.option("--state", "states", multiple=True, type=click.Choice(ARTICLE_STATES),
              help="Only articles in this state (repeatable). Default: every state but archived.")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--json", "as_json", is_flag=True)
@pass_app
def kb_search(app: App, text, ref, username, states, limit, as_json):
    """Search the knowledge base: every word if some article has them all, else any, best first.

    It leaves `kb gaps` once an article it found is used (kb link, a reply from the article's template,
    close --article): on its --ticket within a day; without --ticket, on any ticket within two hours by the
    --as user (by anyone, when --as is not given).
    """
    app.database()
    ticket = tickets.get_ticket(ticket_number(ref)) if ref else None
    user = active_user(username) if username else None
    result = figures.search_articles(text, user=user, ticket=ticket, origin="cli",
                                        states=tuple(states) or knowledge.LIVE_STATES, limit=limit)
    if as_json:
        print_json([{"article": f.article.id, "title": f.article.title, "state": f.article.state,
                      "score": _relevance(f.score)} for f in result.found])
        return
    if not result.found:
        click.echo("no article found (the search is kept: `kb gaps` lists what keeps finding nothing)")
    flags = knowledge.open_flag_counts([found.article.id for found in result.found])
    for found in result.found:
        click.echo(_article_line(found.article, flags.get(found.article.id, 0)))  # best first; scores in --json


def _relevance(score: float) -> float:
    """A hit's score to four significant digits: on SQLite a real hit may score about 1e-6 (see search.py)."""
    return float(f"{score:.4g}")


@kb_group.command("show")
@click.argument("article_id", type=int)
@click.option("--revision", type=int, help="Show this revision instead of the current text.")
@click.option("--diff", nargs=2, type=int, metavar="OLD NEW", help="Compare two revisions.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def kb_show(app: App, article_id, revision, diff, as_json):
    """An article: its KCS fields, state, flags, revisions and tickets; or one revision, or a diff."""
    app.database()
    article = knowledge.get_article(article_id)
    if diff:
        click.echo(knowledge.diff(article, *diff) or f"revisions {diff[0]} and {diff[1]} have the same text")
        return
    text = ArticleText.of(knowledge.get_revision(article, revision) if revision else article)
    if as_json:
        print_json(article_dict(app.config, article, text))
        return
    _echo_article(app, article, text, revision)


def article_dict(config, article: Article, text: ArticleText) -> dict:
    return {
        "article": article.id, "state": article.state, "revision": article.revision,
        "language": article.language, **{k: getattr(text, k) for k in ("title", "issue", "environment",
                                                                       "resolution", "cause")},
        "keywords": list(text.keywords), "url": knowledge.public_url(config, article),
        "reuse_count": article.reuse_count, "reopens": article.reopen_count,
        "flags": [{"id": f.id, "kind": f.kind, "detail": f.detail, "duplicate_of": f.duplicate_of_id}
                  for f in knowledge.open_flags(article)],
        "revisions": [{"number": r.number, "state": r.state, "note": r.note,
                       "author": r.author.username if r.author_id else None,
                       "at": r.created_at.isoformat() + "Z"} for r in knowledge.revisions(article)],
        "tickets": [{"ticket": link.ticket.number, "kind": link.kind} for link in article.links],
    }


def _echo_article(app: App, article: Article, text: ArticleText, revision: int | None) -> None:
    shown = f" (revision {revision} of {article.revision})" if revision else f" (revision {article.revision})"
    click.echo(f"article {article.id}: {text.title}\nstate: {article.state}{shown}; reused {article.reuse_count}x")
    for label, value in (("issue", text.issue), ("environment", text.environment),
                         ("resolution", text.resolution), ("cause", text.cause)):
        click.echo(f"\n{label}:\n{indent(value) if value else '  (empty)'}")
    click.echo(f"\nkeywords: {', '.join(text.keywords) or '(none)'}")
    url = knowledge.public_url(app.config, article)
    if url:
        click.echo(f"public at: {url}")
    for flag in knowledge.open_flags(article):
        who = flag.raised_by.username if flag.raised_by_id else "the system"
        dup = f" of article {flag.duplicate_of_id}" if flag.duplicate_of_id else ""
        click.echo(f"flag {flag.id}: {flag.kind}{dup} by {who}: {flag.detail}")
    click.echo("\nrevisions:")
    for rev in knowledge.revisions(article):
        who = rev.author.username if rev.author_id else "the system"
        click.echo(f"  {rev.number:>3}  {rev.created_at:%Y-%m-%d %H:%M}  {who:<12} {rev.state:<13} {rev.note}")
    links = list(article.links)
    if links:
        click.echo("tickets: " + ", ".join(f"#{link.ticket.number} ({link.kind})" for link in links))


@kb_group.command("draft")
@click.argument("ref")
@click.option("--as", "username", required=True, metavar="USER")
@click.option("--force", is_flag=True, help="Draft even when an article already covers the problem.")
@pass_app
def kb_draft(app: App, ref, username, force):
    """Draft an article from ticket REF's newest SBO note (reuse before create: a match is named instead)."""
    app.database()
    ticket = tickets.get_ticket(ticket_number(ref))
    result = capture.draft_for_ticket(app.config, ticket, active_user(username), force=force)
    echo_capture(result, ticket.number)
    if result.action == "reused":
        sys.exit(1)


_FIELDS = ("title", "issue", "environment", "resolution", "cause")


@kb_group.command("edit")
@click.argument("article_id", type=int)
@click.option("--as", "username", required=True, metavar="USER")
@click.option("--file", "article_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A .toml or .json file with any of title, issue, environment, resolution, cause, keywords.")
@click.option("--title")
@click.option("--issue")
@click.option("--environment")
@click.option("--resolution")
@click.option("--cause")
@click.option("--keywords", help="Comma-separated; replaces the list.")
@click.option("--ticket", "ref", help="The ticket that taught the change.")
@click.option("--note", default="edited", show_default=True, help="Why it changed (kept with the revision).")
@pass_app
def kb_edit(app: App, article_id, username, article_file, ref, note, keywords, **values):
    """Improve an article: a new revision with your changes; the old one stays comparable."""
    app.database()
    article = knowledge.get_article(article_id)
    changes = {**(_read_file(article_file) if article_file else {}), **{k: v for k, v in values.items() if v}}
    if keywords is not None:
        changes["keywords"] = [k.strip() for k in keywords.split(",")]
    if "keywords" in changes:
        changes["keywords"] = tuple(str(k) for k in changes["keywords"])
    ticket = tickets.get_ticket(ticket_number(ref)) if ref else None
    try:
        edited = knowledge.edit_article(article, ArticleText.of(article).replace(**changes), active_user(username),
                                        ticket=ticket, note=note)
    except knowledge.ArticleRefused as exc:
        _refused(exc)
    click.echo(f"article {edited.id} is at revision {edited.revision} ({edited.state})")


def _read_file(path: Path) -> dict:
    return read_table_file(path, {*_FIELDS, "keywords"}, "an article")


def _transition_command(action: str, help_text: str):
    @kb_group.command(action, help=help_text)
    @click.argument("article_id", type=int)
    @click.option("--as", "username", required=True, metavar="USER")
    @click.option("--note", default="", help="Why (kept with the revision).")
    @pass_app
    def command(app: App, article_id, username, note):
        app.database()
        try:
            article = knowledge.transition(knowledge.get_article(article_id), action, active_user(username), note)
        except knowledge.ArticleRefused as exc:
            _refused(exc)
        click.echo(f"article {article.id} is {article.state} (revision {article.revision})")
    return command


for _action, _help in (
        ("submit", "Mark a draft complete: it waits for validation (not_validated)."),
        ("validate", "Validate an article (reviewers and admins): it is right, and agents are offered it."),
        ("publish", "Publish a validated article (reviewers and admins): customers may read it."),
        ("unpublish", "Take a published article back to validated (reviewers and admins)."),
        ("archive", "Retire an article (reviewers and admins); it is kept, and no longer found."),
        ("restore", "Bring an archived article back, as not validated (reviewers and admins).")):
    _transition_command(_action, _help)


@kb_group.command("flag")
@click.argument("article_id", type=int)
@click.option("--as", "username", required=True, metavar="USER")
@click.option("--kind", required=True, type=click.Choice([k for k in FLAG_KINDS if k != "reopened"]))
@click.option("--detail", default="", help="What is wrong.")
@click.option("--duplicate-of", type=int, metavar="ID", help="With --kind duplicate: the article it repeats.")
@click.option("--ticket", "ref", help="The ticket where you found it.")
@pass_app
def kb_flag(app: App, article_id, username, kind, detail, duplicate_of, ref):
    """Flag what is wrong with an article; it goes to the reviewers' queue (kb flags)."""
    app.database()
    other = knowledge.get_article(duplicate_of) if duplicate_of else None
    ticket = tickets.get_ticket(ticket_number(ref)) if ref else None
    try:
        flag = knowledge.raise_flag(knowledge.get_article(article_id), kind, active_user(username), detail,
                                    duplicate_of=other, ticket=ticket)
    except knowledge.ArticleRefused as exc:
        _refused(exc)
    click.echo(f"flag {flag.id} raised on article {article_id}: {kind}")


@kb_group.command("flags")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def kb_flags(app: App, as_json):
    """The reviewers' queue: open flags, oldest first, and templates whose article changed."""
    app.database()
    queue = knowledge.flag_queue()
    stale = article_replies.stale_templates()
    if as_json:
        print_json({"flags": [{"id": f.id, "article": f.article_id, "kind": f.kind, "detail": f.detail,
                                "raised_by": f.raised_by.username if f.raised_by_id else None} for f in queue],
                     "templates": [{"name": t.name, "article": t.article_id,
                                    "article_revision": t.article_revision} for t in stale]})
        return
    for flag in queue:
        who = flag.raised_by.username if flag.raised_by_id else "the system"
        click.echo(f"flag {flag.id:>5}  article {flag.article_id:>5}  {flag.kind:<11} {who}: {flag.detail}")
    for template in stale:
        click.echo(f"template {template.name}: made from revision {template.article_revision} of article "
                   f"{template.article_id}, which changed since (kb template {template.article_id} remakes it)")
    if not queue and not stale:
        click.echo("nothing waits for a reviewer")


@kb_group.command("clear")
@click.argument("flag_id", type=int)
@click.option("--as", "username", required=True, metavar="USER")
@click.option("--note", required=True, help="What was done about it.")
@pass_app
def kb_clear(app: App, flag_id, username, note):
    """Clear a flag (reviewers and admins), saying what was done."""
    app.database()
    try:
        flag = knowledge.clear_flag(knowledge.get_flag(flag_id), active_user(username), note)
    except knowledge.ArticleRefused as exc:
        _refused(exc)
    click.echo(f"flag {flag.id} on article {flag.article_id} cleared")


@kb_group.command("link")
@click.argument("ref")
@click.argument("article_id", type=int)
@click.option("--as", "username", required=True, metavar="USER")
@pass_app
def kb_link(app: App, ref, article_id, username):
    """Record that ticket REF was solved with an article (a reuse)."""
    app.database()
    ticket = tickets.get_ticket(ticket_number(ref))
    new = knowledge.link(knowledge.get_article(article_id), ticket, "reused", active_user(username))
    click.echo(f"ticket #{ticket.number} {'linked to' if new else 'was already linked to'} article {article_id}")


@kb_group.command("template")
@click.argument("article_id", type=int)
@click.option("--as", "username", required=True, metavar="USER")
@click.option("--name", help="The template's name (default kb-ID).")
@pass_app
def kb_template(app: App, article_id, username, name):
    """Make a reply template from a validated article (reply REF --template kb-ID sends it)."""
    app.database()
    article = knowledge.get_article(article_id)
    saved = article_replies.template_from_article(app.config, article, active_user(username), name)
    click.echo(f"reply template {saved.name} made from article {article_id} (revision {saved.article_revision}); "
               f"send it: patroldesk reply REF --template {saved.name} --as USER")


@kb_group.command("reindex")
@pass_app
def kb_reindex(app: App):
    """Rebuild the search index and the suggestion weights from the articles (after a big import, or
    now and then as the base grows: words that were rare become common)."""
    app.database()
    click.echo(f"{knowledge.reindex_all()} articles indexed")


@kb_group.command("gaps")
@click.option("--since", type=click.DateTime(("%Y-%m-%d",)), help="Only searches from this day on.")
@click.option("--min", "min_searches", default=2, show_default=True, type=click.IntRange(1),
              help="How often a search must have found nothing useful.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True)
@pass_app
def kb_gaps(app: App, since, min_searches, limit, as_json):
    """Knowledge gaps: the searches that most often found nothing, or nothing anyone used."""
    app.database()
    found = figures.gaps(since=since, min_searches=min_searches, limit=limit)
    if as_json:
        print_json([{"words": g.words, "searches": g.searches, "found_nothing": g.found_nothing,
                      "nothing_used": g.nothing_used, "tickets": g.tickets,
                      "last_at": g.last_at.isoformat() + "Z"} for g in found])
        return
    if not found:
        click.echo(f"no search found nothing useful {min_searches} times or more")
    for gap in found:
        click.echo(f"{gap.searches:>4}x  {gap.words!r}: found nothing {gap.found_nothing}x, nothing used "
                   f"{gap.nothing_used}x, {gap.tickets} ticket(s), last {gap.last_at:%Y-%m-%d}")


@kb_group.command("report")
@click.option("--since", type=click.DateTime(("%Y-%m-%d",)), help="Count from this day on.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def kb_report(app: App, since, as_json):
    """Content health per article, and per agent and team: link rate, reuse vs create, SBO completeness
    (the share of closing notes that give a cause and tags)."""
    app.database()
    health = figures.article_health()
    performance = figures.performance(since=since)
    if as_json:
        print_json({"articles": health, **performance})
        return
    click.echo("articles (most reused first):")
    for row in health:
        age = f"{row['days_since_validation']}d since validation" if row["days_since_validation"] is not None \
            else "not validated"
        click.echo(f"  {row['article']:>5}  {row['state']:<13} reused {row['reuse_count']:>3}x  "
                   f"last {row['last_used_at'][:10] if row['last_used_at'] else 'never':<10}  "
                   f"flags {row['open_flags']}  reopens {row['reopens']}  {age}  {row['title'][:60]}")
    click.echo("\n" + _figures_header())
    for name, row in performance["agents"].items():
        click.echo(_figures_line(name, row))
    click.echo(_figures_line("team", performance["team"]))


def _figures_header() -> str:
    return (f"{'who':<14}{'closed':>7}{'linked':>7}{'link rate':>10}{'reused':>7}{'created':>8}{'reuse/create':>13}"
            f"{'improved':>9}{'flagged':>8}{'SBO complete':>13}")


def _figures_line(name: str, row: dict) -> str:
    def pct(value):
        return "-" if value is None else f"{value:.0%}"

    ratio = "-" if row["reuse_vs_create"] is None else f"{row['reuse_vs_create']:.2f}"
    return (f"{name:<14}{row['closed']:>7}{row['linked']:>7}{pct(row['link_rate']):>10}{row['reused']:>7}"
            f"{row['created']:>8}{ratio:>13}{row['improved']:>9}{row['flagged']:>8}{pct(row['sbo_completeness']):>13}")
