"""Knowledge: search, articles, drafts, the review queue, revision diffs, state changes.

Every rule is daemon.knowledge's (who may edit, validate or publish, what a
flag needs); the pages offer what the user's role allows, and when the
domain refuses, its message stands beside the field it names with
everything typed kept.
"""
from __future__ import annotations

import difflib
import itertools
from dataclasses import dataclass

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from peewee import JOIN

from daemon import knowledge, tickets
from daemon.errors import NotFound, PatroldeskError
from daemon.knowledge import ArticleRefused, ArticleText, article_replies, figures
from daemon.store.models import (
    ARTICLE_STATES, FLAG_KINDS, Article, ArticleFlag, ArticleLink, ReplyTemplate, Ticket, User,
)
from web.access import me, requires
from web.params import number as form_number
from web.patrol import page_number

blueprint = Blueprint("knowledge", __name__, url_prefix="/kb")

PER_PAGE = 30
SEARCH_LIMIT = 30
TEXT_FIELDS = ("title", "issue", "environment", "resolution", "cause")
DIFF_FIELDS = (*TEXT_FIELDS, "keywords")
FLAG_CHOICES = tuple(kind for kind in FLAG_KINDS if kind != "reopened")  # reopened is the system's to raise
WAITING_STATES = ("draft", "not_validated")


# Finding articles ---------------------------------------------------------------

@blueprint.route("/")
@requires("agent")
def articles():
    values = {key: request.args.get(key, "").strip() for key in ("q", "state", "ticket")}
    errors: dict[str, str] = {}
    ticket = _ticket_of(values["ticket"], errors)
    if values["state"] and values["state"] not in ARTICLE_STATES:
        errors["state"] = f"one of {', '.join(ARTICLE_STATES)}"
    page = page_number()
    found, more = [], False
    if not errors:
        found, more = _search(values, ticket) if values["q"] else _newest(values["state"], page)
    return render_template("knowledge/articles.html", found=found, more=more, page=page, values=values,
                           errors=errors, ticket=ticket, states=[(s, s) for s in ARTICLE_STATES],
                           flags=knowledge.open_flag_counts([a.id for a in found]) if found else {},
                           args={k: v for k, v in values.items() if v}), 400 if errors else 200


def _search(values: dict, ticket: Ticket | None) -> tuple[list[Article], bool]:
    """The ranked hits for the words typed, logged as the console's search (for the ticket, when named)."""
    states = (values["state"],) if values["state"] else knowledge.LIVE_STATES
    result = figures.search_articles(values["q"], user=me(), ticket=ticket, origin="console", states=states,
                                        limit=SEARCH_LIMIT)
    return [hit.article for hit in result.found], False


def _newest(state: str, page: int) -> tuple[list[Article], bool]:
    query = Article.select().order_by(Article.created_at.desc(), Article.id.desc())
    if state:
        query = query.where(Article.state == state)
    rows = list(query.offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1))
    return rows[:PER_PAGE], len(rows) > PER_PAGE


def _ticket_of(text: str, errors: dict, key: str = "ticket") -> Ticket | None:
    """The ticket a field names by number ('' names none); a message in `errors` when there is no such ticket."""
    number = text.strip().lstrip("#")
    if not number:
        return None
    if form_number(number) is None:
        errors[key] = f"a ticket number, not {text.strip()!r}"
        return None
    try:
        return tickets.get_ticket(form_number(number))
    except NotFound as exc:
        errors[key] = str(exc)
        return None


# One article --------------------------------------------------------------------

@blueprint.route("/<int:article_id>")
@requires("agent")
def article(article_id: int):
    found = _article_or_none(article_id)
    return _article_page(found) if found else _missing(article_id)


def _article_or_none(article_id: int) -> Article | None:
    try:
        return knowledge.get_article(article_id)
    except NotFound:
        return None


def _missing(article_id: int):
    return render_template("error.html", title="No such article",
                           message=f"There is no article {article_id}."), 404


def _article_page(found: Article, status: int = 200, **forms):
    """The article with everything about it; `forms` carries a refused form's values and messages back."""
    forms = {"flag_values": {}, "flag_errors": {}, "clear_values": {}, "clear_errors": {}, "state_note": "",
             "state_messages": [], "template_name": "", "template_error": "", **forms}
    revisions = knowledge.revisions(found)
    return render_template(
        "knowledge/article.html", article=found, text=ArticleText.of(found), revisions=revisions,
        flags=list(ArticleFlag.select(ArticleFlag, User).join(User, JOIN.LEFT_OUTER,
                                                               on=(ArticleFlag.raised_by == User.id))
                   .where(ArticleFlag.article == found.id).order_by(ArticleFlag.id)),
        links=list(ArticleLink.select(ArticleLink, Ticket).join(Ticket).where(ArticleLink.article == found.id)
                   .order_by(ArticleLink.id)),
        source=Ticket.get_or_none(Ticket.id == found.source_ticket_id) if found.source_ticket_id else None,
        templates=list(ReplyTemplate.select().where(ReplyTemplate.article == found.id).order_by(ReplyTemplate.name)),
        actions=_actions_for(found, me()), flag_kinds=[(k, k) for k in FLAG_CHOICES],
        public_url=knowledge.public_url(current_app.config["PATROLDESK"], found),
        checked=found.state in knowledge.CHECKED_STATES, **forms), status


def _actions_for(found: Article, user: User) -> list[str]:
    """The lifecycle actions knowledge.TRANSITIONS offers from this state to this user's role."""
    return [action for action, (sources, _, roles) in knowledge.TRANSITIONS.items()
            if found.state in sources and (roles is None or user.role in roles)]


@blueprint.route("/<int:article_id>/state", methods=["POST"])
@requires("agent")
def change_state(article_id: int):
    found = _article_or_none(article_id)
    if found is None:
        return _missing(article_id)
    action, note = request.form.get("action", ""), request.form.get("note", "")
    try:
        changed = knowledge.transition(found, action, me(), note.strip())
    except ArticleRefused as exc:
        return _article_page(found, 400, state_note=note,
                             state_messages=[f"{key}: {why}" for key, why in exc.problems.items()])
    except PatroldeskError as exc:  # NotAllowed, or an action that does not exist
        return _article_page(found, 400, state_note=note, state_messages=[str(exc)])
    flash(f"Article {changed.id} is {changed.state} now (revision {changed.revision}).")
    return redirect(url_for("knowledge.article", article_id=changed.id))


@blueprint.route("/<int:article_id>/flags", methods=["POST"])
@requires("agent")
def flag(article_id: int):
    found = _article_or_none(article_id)
    if found is None:
        return _missing(article_id)
    values = {key: request.form.get(key, "") for key in ("kind", "detail", "duplicate_of", "ticket")}
    errors: dict[str, str] = {}
    other = _duplicate_of(values["duplicate_of"], errors)
    ticket = _ticket_of(values["ticket"], errors)
    if errors:  # the domain's own checks too, so every field's message comes at once
        errors = {**knowledge.check_flag(found, values["kind"], me(), values["detail"], other), **errors}
    else:
        try:
            raised = knowledge.raise_flag(found, values["kind"], me(), values["detail"], duplicate_of=other,
                                          ticket=ticket)
        except ArticleRefused as exc:
            errors = exc.problems
    if errors:
        return _article_page(found, 400, flag_values=values, flag_errors=errors)
    flash(f"Flag {raised.id} raised ({raised.kind}): it waits for a reviewer.")
    return redirect(url_for("knowledge.article", article_id=found.id))


def _duplicate_of(text: str, errors: dict) -> Article | None:
    number = text.strip()
    if not number:
        return None
    found = _article_or_none(form_number(number)) if form_number(number) else None
    if found is None:
        errors["duplicate_of"] = f"no article {number!r}: give the number of the article this one repeats"
    return found


@blueprint.route("/<int:article_id>/flags/<int:flag_id>/clear", methods=["POST"])
@requires("reviewer")
def clear_flag(article_id: int, flag_id: int):
    found = _article_or_none(article_id)
    raised = ArticleFlag.get_or_none((ArticleFlag.id == flag_id) & (ArticleFlag.article == article_id))
    if found is None or raised is None:
        return render_template("error.html", title="No such flag",
                               message=f"Article {article_id} has no flag {flag_id}."), 404
    note = request.form.get("note", "")
    try:
        knowledge.clear_flag(raised, me(), note)
    except PatroldeskError as exc:  # no note (ArticleRefused), or cleared meanwhile (NotAllowed)
        why = "; ".join(exc.problems.values()) if isinstance(exc, ArticleRefused) else str(exc)
        return _article_page(found, 400, clear_values={raised.id: note}, clear_errors={raised.id: why})
    flash(f"Flag {raised.id} cleared.")
    return redirect(url_for("knowledge.article", article_id=found.id))


@blueprint.route("/<int:article_id>/template", methods=["POST"])
@requires("reviewer")
def make_template(article_id: int):
    found = _article_or_none(article_id)
    if found is None:
        return _missing(article_id)
    name = request.form.get("name", "").strip()
    try:
        saved = article_replies.template_from_article(current_app.config["PATROLDESK"], found, me(), name or None)
    except PatroldeskError as exc:  # not checked yet, a name taken, a template that does not render
        return _article_page(found, 400, template_name=name, template_error=str(exc))
    flash(f"Reply template {saved.name} made from revision {saved.article_revision} of article {found.id}.")
    return redirect(url_for("knowledge.article", article_id=found.id))


# Writing articles ---------------------------------------------------------------

@blueprint.route("/new", methods=["GET", "POST"])
@requires("agent")
def new():
    if request.method == "GET":
        return _form_page(None, {"ticket": request.args.get("ticket", "")}, {})
    values = _form_values()
    errors: dict[str, str] = {}
    ticket = _ticket_of(values["ticket"], errors)
    text = _text_of(values)
    if errors:
        return _form_page(None, values, {**knowledge.check_text(text), **errors}, 400)
    try:
        created = knowledge.create_article(text, me(), ticket=ticket, note=values["note"].strip() or "written")
    except ArticleRefused as exc:
        return _form_page(None, values, exc.problems, 400)
    flash(f"Draft article {created.id} written.")
    return redirect(url_for("knowledge.article", article_id=created.id))


@blueprint.route("/<int:article_id>/edit", methods=["GET", "POST"])
@requires("agent")
def edit(article_id: int):
    found = _article_or_none(article_id)
    if found is None:
        return _missing(article_id)
    if request.method == "GET":
        return _form_page(found, _values_of(found), {})
    values = _form_values()
    if values["base_revision"] not in ("", str(found.revision)):
        return _changed_meanwhile(found, values)
    errors: dict[str, str] = {}
    ticket = _ticket_of(values["ticket"], errors)
    text = _text_of(values)
    if errors:
        errors = {**knowledge.check_text(text), **errors}
    else:
        try:
            edited = knowledge.edit_article(found, text, me(), ticket=ticket, note=values["note"].strip() or "edited")
        except ArticleRefused as exc:
            errors = exc.problems
        except PatroldeskError as exc:  # NotAllowed: archived, or published and the user is an agent
            errors = {"article": str(exc)}
    if errors:
        return _form_page(found, values, errors, 400)
    flash(f"Article {edited.id} is at revision {edited.revision} ({edited.state}).")
    return redirect(url_for("knowledge.article", article_id=edited.id))


def _changed_meanwhile(found: Article, values: dict):
    """Someone saved a revision since this form was opened: nothing is overwritten unseen."""
    compare = url_for("knowledge.diff", article_id=found.id, old=values["base_revision"], new=found.revision)
    errors = {"article": f"The article changed while you edited it: it is at revision {found.revision} now. "
                         f"Your text is kept below; compare the revisions, then save again to make yours the next one."}
    values = {**values, "base_revision": str(found.revision)}
    return render_template("knowledge/form.html", article=found, values=values, errors=errors, compare=compare), 409


def _form_values() -> dict[str, str]:
    return {key: request.form.get(key, "") for key in (*TEXT_FIELDS, "keywords", "note", "ticket", "base_revision")}


def _values_of(found: Article) -> dict[str, str]:
    text = ArticleText.of(found)
    return {**{name: getattr(text, name) for name in TEXT_FIELDS}, "keywords": ", ".join(text.keywords),
            "base_revision": str(found.revision)}


def _text_of(values: dict) -> ArticleText:
    keywords = tuple(word.strip() for word in values["keywords"].split(",") if word.strip())
    return ArticleText(keywords=keywords, **{name: values[name] for name in TEXT_FIELDS})


def _form_page(found: Article | None, values: dict, errors: dict, status: int = 200):
    return render_template("knowledge/form.html", article=found, values=values, errors=errors), status


# Comparing revisions ------------------------------------------------------------

@dataclass(frozen=True)
class FieldDiff:
    """One field of two revisions, line beside line: (left, right, changed); None where a side has no line."""
    name: str
    rows: list[tuple[str | None, str | None, bool]]
    changed: bool


@blueprint.route("/<int:article_id>/diff")
@requires("agent")
def diff(article_id: int):
    found = _article_or_none(article_id)
    if found is None:
        return _missing(article_id)
    old, new = request.args.get("old", str(max(1, found.revision - 1))), request.args.get("new", str(found.revision))
    if form_number(old) is None or form_number(new) is None:
        return render_template("error.html", title="Compare revisions",
                               message=f"Revisions are numbered 1 to {found.revision}; "
                                       f"compare two of them, not {old!r} and {new!r}."), 400
    try:
        before, after = knowledge.get_revision(found, int(old)), knowledge.get_revision(found, int(new))
    except NotFound as exc:
        return render_template("error.html", title="Compare revisions", message=f"{exc}."), 404
    return render_template("knowledge/diff.html", article=found, before=before, after=after,
                           fields=side_by_side(ArticleText.of(before), ArticleText.of(after)),
                           revisions=knowledge.revisions(found))


def side_by_side(before: ArticleText, after: ArticleText) -> list[FieldDiff]:
    """Each KCS field of two texts, its lines aligned: what stayed side by side, what changed marked."""
    return [_field_diff(name, _lines(before, name), _lines(after, name)) for name in DIFF_FIELDS]


def _lines(text: ArticleText, name: str) -> list[str]:
    value = getattr(text, name)
    return list(value) if name == "keywords" else value.splitlines()


def _field_diff(name: str, left: list[str], right: list[str]) -> FieldDiff:
    rows: list[tuple[str | None, str | None, bool]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, left, right, autojunk=False).get_opcodes():
        pairs = zip(left[i1:i2], right[j1:j2]) if tag == "equal" else \
            itertools.zip_longest(left[i1:i2], right[j1:j2])
        rows.extend((a, b, tag != "equal") for a, b in pairs)
    return FieldDiff(name, rows, left != right)


# The reviewers' queue -----------------------------------------------------------

@blueprint.route("/review")
@requires("reviewer")
def review_queue():
    waiting = list(Article.select(Article, User).join(User, JOIN.LEFT_OUTER, on=(Article.created_by == User.id))
                   .where(Article.state.in_(WAITING_STATES)).order_by(Article.updated_at, Article.id))
    return render_template("knowledge/review.html", waiting=waiting, flags=knowledge.flag_queue(),
                           stale=article_replies.stale_templates())
