"""The command line of the knowledge base: `patroldesk kb ...`.

Registered on the `patroldesk` group by daemon.cli; every rule lives in
daemon.knowledge: articles, capture, article_replies and figures. An article
is one problem with a variant per language: the commands that read or change
text take --language (needed only when the article has several variants).
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path

import click

from daemon import knowledge, tickets
from daemon.cli.root import (
    App, active_user, cli, echo_capture, indent, pass_app, print_json, read_table_file, ticket_number,
)
from daemon.knowledge import ArticleText, article_replies, capture, figures
from daemon.languages import DETECTED
from daemon.languages import name as language_name
from daemon.store.models import ARTICLE_STATES, FLAG_KINDS, Article


def _language_option(help_text: str = "The variant's language (needed when the article has several)."):
    return click.option("--language", type=click.Choice(DETECTED), help=help_text)


@cli.group("kb")
def kb_group():
    """Knowledge articles: search, read, draft, improve, validate, publish, flag; gaps and figures."""


def _refused(exc: knowledge.ArticleRefused) -> None:
    click.echo("patroldesk: refused; nothing was written:", err=True)
    for key, why in exc.problems.items():
        click.echo(f"  {key}: {why}", err=True)
    sys.exit(1)


def _article_line(article: Article, flags: int, variant=None) -> str:
    """One article: its state, its languages (the shown one first) and the shown variant's title."""
    shown = variant or article.primary
    languages = [shown.language, *(code for code in article.languages if code != shown.language)]
    flagged = f"  [{flags} flag{'s' * (flags != 1)}]" if flags else ""
    return f"{article.id:>6}  {article.state:<13} [{' '.join(languages)}] {shown.title}{flagged}"


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
        print_json([{"article": f.article.id, "title": (f.variant or f.article.primary).title,
                      "language": (f.variant or f.article.primary).language, "state": f.article.state,
                      "languages": {v.language: v.state for v in f.article.variant_list},
                      "score": _relevance(f.score)} for f in result.found])
        return
    if not result.found:
        click.echo("no article found (the search is kept: `kb gaps` lists what keeps finding nothing)")
    flags = knowledge.open_flag_counts([found.article.id for found in result.found])
    for found in result.found:
        click.echo(_article_line(found.article, flags.get(found.article.id, 0), found.variant))  # scores: --json


def _relevance(score: float) -> float:
    """A hit's score to four significant digits: on SQLite a real hit may score about 1e-6 (see search.py)."""
    return float(f"{score:.4g}")


@kb_group.command("show")
@click.argument("article_id", type=int)
@_language_option("Show this language's variant (default: the one furthest along).")
@click.option("--revision", type=int, help="Show this revision instead of the current text.")
@click.option("--diff", nargs=2, type=int, metavar="OLD NEW", help="Compare two revisions.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def kb_show(app: App, article_id, language, revision, diff, as_json):
    """An article: its variants, the shown one's KCS fields, state, flags, revisions and tickets, the
    languages it needs; or one revision, or a diff."""
    app.database()
    article = knowledge.get_article(article_id)
    if diff:
        click.echo(knowledge.diff(article, *diff) or f"revisions {diff[0]} and {diff[1]} have the same text")
        return
    if revision:
        shown = knowledge.get_revision(article, revision)
    else:
        shown = knowledge.get_variant(article, language) if language else article.primary
    if as_json:
        print_json(article_dict(app.config, article, shown))
        return
    _echo_article(app, article, shown, revision)


def article_dict(config, article: Article, shown) -> dict:
    """An article as `kb show --json` gives it: the shown variant's (or revision's) text, every variant's
    language and state, and the languages its readers need."""
    text = ArticleText.of(shown)
    return {
        "article": article.id, "state": article.state, "revision": article.revision,
        "language": shown.language, "variant_state": shown.state,
        **{k: getattr(text, k) for k in ("title", "issue", "environment", "resolution", "cause")},
        "keywords": list(text.keywords), "url": knowledge.public_url(config, article, shown.language),
        "variants": [{"language": v.language, "state": v.state, "title": v.title} for v in article.variant_list],
        "needs": [gap.language for gap in figures.language_gaps([article.id])],
        "reuse_count": article.reuse_count, "reopens": article.reopen_count,
        "flags": [{"id": f.id, "kind": f.kind, "detail": f.detail, "duplicate_of": f.duplicate_of_id}
                  for f in knowledge.open_flags(article)],
        "revisions": [{"number": r.number, "language": r.language, "state": r.state, "note": r.note,
                       "author": r.author.username if r.author_id else None,
                       "at": r.created_at.isoformat() + "Z"} for r in knowledge.revisions(article)],
        "tickets": [{"ticket": link.ticket.number, "kind": link.kind} for link in article.links],
    }


def _echo_article(app: App, article: Article, shown, revision: int | None) -> None:
    text = ArticleText.of(shown)
    at = f" (revision {revision} of {article.revision})" if revision else f" (revision {article.revision})"
    click.echo(f"article {article.id}: {text.title}\nstate: {article.state}{at}; reused {article.reuse_count}x")
    click.echo("variants: " + ", ".join(f"{v.language} {v.state}{' (shown)' if v.language == shown.language else ''}"
                                        for v in article.variant_list))
    for gap in figures.language_gaps([article.id]):
        click.echo(f"needs a {language_name(gap.language)} variant: {gap.tickets} ticket(s) of its readers "
                   f"(kb variant add {article.id} --language {gap.language} ...)")
    for label, value in (("issue", text.issue), ("environment", text.environment),
                         ("resolution", text.resolution), ("cause", text.cause)):
        click.echo(f"\n{label}:\n{indent(value) if value else '  (empty)'}")
    click.echo(f"\nkeywords: {', '.join(text.keywords) or '(none)'}")
    url = knowledge.public_url(app.config, article, shown.language)
    if url:
        click.echo(f"public at: {url}")
    for flag in knowledge.open_flags(article):
        who = flag.raised_by.username if flag.raised_by_id else "the system"
        dup = f" of article {flag.duplicate_of_id}" if flag.duplicate_of_id else ""
        click.echo(f"flag {flag.id}: {flag.kind}{dup} by {who}: {flag.detail}")
    click.echo("\nrevisions:")
    for rev in knowledge.revisions(article):
        who = rev.author.username if rev.author_id else "the system"
        click.echo(f"  {rev.number:>3}  {rev.created_at:%Y-%m-%d %H:%M}  {rev.language:<3} {who:<12} {rev.state:<13} "
                   f"{rev.note}")
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


def _text_options(keywords_help: str):
    """The options that write a variant's text: --title, --issue, --environment, --resolution, --cause, --keywords."""
    def decorate(command):
        command = click.option("--keywords", help=keywords_help)(command)
        for name in ("--cause", "--resolution", "--environment", "--issue", "--title"):
            command = click.option(name)(command)
        return command
    return decorate


@kb_group.command("edit")
@click.argument("article_id", type=int)
@click.option("--as", "username", required=True, metavar="USER")
@click.option("--file", "article_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A .toml or .json file with any of title, issue, environment, resolution, cause, keywords.")
@_text_options("Comma-separated; replaces the list.")
@click.option("--ticket", "ref", help="The ticket that taught the change.")
@click.option("--note", default="edited", show_default=True, help="Why it changed (kept with the revision).")
@_language_option()
@pass_app
def kb_edit(app: App, article_id, username, article_file, ref, note, keywords, language, **values):
    """Improve an article's variant: a new revision with your changes; the old one stays comparable."""
    app.database()
    article = knowledge.get_article(article_id)
    variant = knowledge.get_variant(article, language)
    changes = _changes(article_file, keywords, values)
    ticket = tickets.get_ticket(ticket_number(ref)) if ref else None
    try:
        edited = knowledge.edit_article(article, ArticleText.of(variant).replace(**changes), active_user(username),
                                        ticket=ticket, note=note, language=variant.language)
    except knowledge.ArticleRefused as exc:
        _refused(exc)
    click.echo(f"article {edited.id} ({variant.language}) is at revision {edited.revision} "
               f"({edited.variant(variant.language).state})")


def _changes(article_file: Path | None, keywords: str | None, values: dict) -> dict:
    """The fields given in a file and as options (options win); keywords as a tuple."""
    changes = {**(_read_file(article_file) if article_file else {}), **{k: v for k, v in values.items() if v}}
    if keywords is not None:
        changes["keywords"] = [k.strip() for k in keywords.split(",")]
    if "keywords" in changes:
        changes["keywords"] = tuple(str(k) for k in changes["keywords"])
    return changes


@kb_group.group("variant")
def kb_variant():
    """An article's variants: the same problem in another language."""


@kb_variant.command("add")
@click.argument("article_id", type=int)
@click.option("--language", required=True, type=click.Choice(DETECTED), help="The new variant's language.")
@click.option("--as", "username", required=True, metavar="USER")
@click.option("--file", "article_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A .toml or .json file with title, issue and any of environment, resolution, cause, keywords.")
@_text_options("Comma-separated.")
@click.option("--ticket", "ref", help="The ticket that asked in this language: it is linked to the article.")
@click.option("--note", default="", help="Why (kept with the revision).")
@pass_app
def kb_variant_add(app: App, article_id, language, username, article_file, keywords, ref, note, **values):
    """Write article ARTICLE_ID in one more language (a draft variant), instead of drafting a second
    article for the same problem; with --ticket, the ticket is linked to the article as well."""
    app.database()
    article = knowledge.get_article(article_id)
    changes = _changes(article_file, keywords, values)
    ticket = tickets.get_ticket(ticket_number(ref)) if ref else None
    try:
        variant = knowledge.add_variant(article, language, ArticleText(title="").replace(**changes),
                                        active_user(username), ticket=ticket, note=note)
    except knowledge.ArticleRefused as exc:
        _refused(exc)
    linked = f"; ticket #{ticket.number} is linked to it" if ticket else ""
    click.echo(f"article {article_id} has a {variant.language} variant now (draft){linked}; "
               f"submit it: patroldesk kb submit {article_id} --language {variant.language} --as USER")


def _read_file(path: Path) -> dict:
    return read_table_file(path, {*_FIELDS, "keywords"}, "an article")


def _transition_command(action: str, help_text: str):
    @kb_group.command(action, help=help_text)
    @click.argument("article_id", type=int)
    @click.option("--as", "username", required=True, metavar="USER")
    @click.option("--note", default="", help="Why (kept with the revision).")
    @_language_option("The variant (needed when the article has several; archive and restore without it act "
                      "on every variant).")
    @pass_app
    def command(app: App, article_id, username, note, language):
        app.database()
        try:
            article = knowledge.transition(knowledge.get_article(article_id), action, active_user(username), note,
                                           language=language)
        except knowledge.ArticleRefused as exc:
            _refused(exc)
        variants = ", ".join(f"{v.language} {v.state}" for v in article.variant_list)
        click.echo(f"article {article.id} is {article.state} (revision {article.revision}; {variants})")
        if action == "validate":
            try:
                refreshed = knowledge.suggest_again(app.config)
            except Exception as exc:  # noqa: BLE001 - the validation stands; suggestions are a help
                click.echo(f"warning: the open tickets' suggestions were not made again: {exc}", err=True)
            else:
                if refreshed:
                    click.echo(f"suggestions made again for {refreshed} open ticket(s)")
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
                     "templates": [{"name": t.name, "language": t.language, "article": t.article_id,
                                    "article_revision": t.article_revision} for t in stale]})
        return
    for flag in queue:
        who = flag.raised_by.username if flag.raised_by_id else "the system"
        click.echo(f"flag {flag.id:>5}  article {flag.article_id:>5}  {flag.kind:<11} {who}: {flag.detail}")
    for template in stale:
        click.echo(f"template {template.name} ({template.language or 'base'}): made from revision "
                   f"{template.article_revision} of article "
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
@_language_option("Make it from this language's variant (default: every checked variant).")
@click.option("--ticket", "ref", help="Make it for this ticket's customer: their language's variant, or the "
                                      "closest one with a warning.")
@pass_app
def kb_template(app: App, article_id, username, name, language, ref):
    """Make a reply template from a validated article, a variant per checked language of it (reply REF
    --template kb-ID sends the customer's language)."""
    app.database()
    article = knowledge.get_article(article_id)
    user = active_user(username)
    if ref and not language:
        ticket = tickets.get_ticket(ticket_number(ref))
        choice = article_replies.choose_variant(app.config, article,
                                                tickets.writing_language(app.config, ticket.requester))
        if choice is not None and not choice.theirs:
            click.echo(f"warning: {choice.warning()}; the template is made from the {choice.language} variant, "
                       f"marked as another language than the customer's (write theirs: patroldesk kb variant add "
                       f"{article_id} --language {choice.wanted} ...)", err=True)
        language = choice.language if choice else None
    if language:
        made = [article_replies.template_from_article(app.config, article, user, name, language)]
    else:
        made = article_replies.templates_from_article(app.config, article, user, name)
    for saved in made:
        click.echo(f"reply template {saved.name} ({saved.language}) made from article {article_id} (revision "
                   f"{saved.article_revision}); send it: patroldesk reply REF --template {saved.name} --as USER")


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
    """Knowledge gaps: the searches that most often found nothing, or nothing anyone used, rewordings and
    other languages counted together; a gap an article written or linked since covers is left out."""
    app.database()
    found = figures.gaps(since=since, min_searches=min_searches, limit=limit)
    if as_json:
        print_json([{"words": g.words, "searches": g.searches, "found_nothing": g.found_nothing,
                      "nothing_used": g.nothing_used, "tickets": g.tickets, "ticket_numbers": list(g.ticket_numbers),
                      "wordings": list(g.wordings), "first_at": g.first_at.isoformat() + "Z",
                      "last_at": g.last_at.isoformat() + "Z", "age_days": g.age_days()} for g in found])
        return
    if not found:
        click.echo(f"no search found nothing useful {min_searches} times or more")
    for gap in found:
        tickets = ", ".join(f"#{n}" for n in gap.ticket_numbers) or "none"
        click.echo(f"{gap.searches:>4}x  {gap.words!r}: found nothing {gap.found_nothing}x, nothing used "
                   f"{gap.nothing_used}x; tickets {tickets}; first {gap.first_at:%Y-%m-%d} "
                   f"({gap.age_days()} days ago), last {gap.last_at:%Y-%m-%d}")
        for other in gap.wordings[1:]:
            click.echo(f"        also {other!r}")


@kb_group.command("new")
@click.option("--since", type=click.DateTime(("%Y-%m-%d",)), help="From this day on (default: everything).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header line, for a spreadsheet.")
@pass_app
def kb_new(app: App, since, as_json, as_csv):
    """The problems met for the first time (articles drafted from a ticket), for product teams: what is
    new, and how many tickets came to each since."""
    app.database()
    found = figures.new_problems(since=since)
    if as_json:
        print_json(found)
        return
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerows([figures.NEW_PROBLEM_COLUMNS, *figures.new_problem_rows(found)])
        return
    if not found:
        click.echo("no new problem in the period")
    for row in found:
        click.echo(f"{row['article']:>5}  {row['created_at'][:10]}  ticket #{row['ticket']}  "
                   f"{row['tickets']:>3} ticket(s)  {row['state']:<13} {row['title']}")



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
    languages = figures.variant_figures()
    answers = figures.self_service(since=since)
    if as_json:
        print_json({"articles": health, "languages": languages, **performance, "self_service": answers})
        return
    click.echo("articles (most reused first):")
    for row in health:
        age = f"{row['days_since_validation']}d since validation" if row["days_since_validation"] is not None \
            else "not validated"
        click.echo(f"  {row['article']:>5}  {row['state']:<13} reused {row['reuse_count']:>3}x  "
                   f"last {row['last_used_at'][:10] if row['last_used_at'] else 'never':<10}  "
                   f"flags {row['open_flags']}  reopens {row['reopens']}  {age}  [{' '.join(row['languages'])}]"
                   f"{'  needs ' + ', '.join(row['needs']) if row['needs'] else ''}  {row['title'][:60]}")
    needed = ", ".join(f"{code} {count}" for code, count in languages["needed_per_language"].items())
    click.echo(f"\n{languages['articles']} articles in {languages['variants']} variants; "
               f"{languages['articles_needing_a_variant']} need a variant in their readers' language"
               f"{' (' + needed + ')' if needed else ''}")
    click.echo("\n" + _figures_header())
    for name, row in performance["agents"].items():
        click.echo(_figures_line(name, row))
    click.echo(_figures_line("team", performance["team"]))
    rate = "-" if answers["success_rate"] is None else f"{answers['success_rate']:.0%}"
    click.echo(f"\nhelp center readers asked \"Did this solve it?\": {answers['yes']} yes, {answers['no']} no "
               f"(self-service success {rate})")
    for row in answers["variants"][:10]:
        click.echo(f"  article {row['article']:>5} ({row['language']}): {row['yes']} yes, {row['no']} no")


def _figures_header() -> str:
    return (f"{'who':<14}{'closed':>7}{'linked':>7}{'link rate':>10}{'reused':>7}{'created':>8}{'reuse/create':>13}"
            f"{'improved':>9}{'flagged':>8}{'SBO complete':>13}")


def _figures_line(name: str, row: dict) -> str:
    def pct(value):
        return "-" if value is None else f"{value:.0%}"

    ratio = "-" if row["reuse_vs_create"] is None else f"{row['reuse_vs_create']:.2f}"
    return (f"{name:<14}{row['closed']:>7}{row['linked']:>7}{pct(row['link_rate']):>10}{row['reused']:>7}"
            f"{row['created']:>8}{ratio:>13}{row['improved']:>9}{row['flagged']:>8}{pct(row['sbo_completeness']):>13}")
