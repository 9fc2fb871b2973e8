"""Knowledge: search, articles and their language variants, drafts, the review queue, diffs, state changes.

Every rule is daemon.knowledge's (who may edit, validate or publish, what a
flag needs); the pages offer what the user's role allows, and when the
domain refuses, its message stands beside the field it names with
everything typed kept. An article page shows one variant (?language=),
the others as tabs, and the languages its readers need; the ticket page
includes knowledge/_ticket_variants.html, fed by ticket_articles().
"""
from __future__ import annotations

import difflib
import itertools
from dataclasses import dataclass

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext, pgettext
from peewee import JOIN

from daemon import knowledge, tickets
from daemon.errors import NotFound, PatroldeskError
from daemon.knowledge import ArticleRefused, ArticleText, article_replies, figures
from daemon.languages import DETECTED, N_
from daemon.languages import name as language_name
from daemon.store.models import (
    ARTICLE_STATES, FLAG_KINDS, Article, ArticleFeedback, ArticleFlag, ArticleLink, ArticleSuggestion, ArticleVariant,
    ReplyTemplate, Ticket, User,
)
from web.access import me, requires
from web.i18n import said
from web.params import number as form_number
from web.patrol import page_number

blueprint = Blueprint("knowledge", __name__, url_prefix="/kb")

PER_PAGE = 30
SEARCH_LIMIT = 30
TEXT_FIELDS = ("title", "issue", "environment", "resolution", "cause")
DIFF_FIELDS = (*TEXT_FIELDS, "keywords")
FLAG_CHOICES = tuple(kind for kind in FLAG_KINDS if kind != "reopened")  # reopened is the system's to raise
WAITING_STATES = ("draft", "not_validated")
# What a lifecycle refusal calls the fields it names ("resolution: missing: ...").
FIELD_NAMES = {"title": N_("title"), "issue": N_("issue"), "environment": N_("environment"),
               "resolution": N_("resolution"), "cause": N_("cause"), "keywords": N_("keywords"), "flags": N_("flags")}

# What drafting takes out of a ticket's text (daemon.knowledge.redact's kinds), as the page's reader says it.
REMOVAL_KINDS = {
    "greeting": N_("greeting"), "signature": N_("signature"), "email": N_("e-mail address"),
    "url-with-credentials": N_("password in a link"), "ticket-ref": N_("ticket reference"),
    "phone": N_("phone number"), "name": N_("name"), "vat-id": N_("VAT or organisation number"),
    "iban": N_("IBAN"), "card": N_("card number"), "id-number": N_("identity number"), "order": N_("order number"),
}


# Finding articles ---------------------------------------------------------------

@blueprint.route("/")
@requires("agent")
def articles():
    values = {key: request.args.get(key, "").strip() for key in ("q", "state", "ticket")}
    errors: dict[str, str] = {}
    ticket = _ticket_of(values["ticket"], errors)
    if values["state"] and values["state"] not in ARTICLE_STATES:
        errors["state"] = _("one of %(states)s", states=", ".join(kb_word(s) for s in ARTICLE_STATES))
    page = page_number()
    found, more, shown = [], False, {}
    if not errors and values["q"]:
        found, shown = _search(values, ticket)
    elif not errors:
        found, more = _newest(values["state"], page)
    Article.with_variants(found)
    return render_template("knowledge/articles.html", found=found, more=more, page=page, values=values,
                           errors=errors, ticket=ticket, states=[(s, kb_word(s)) for s in ARTICLE_STATES],
                           flags=knowledge.open_flag_counts([a.id for a in found]) if found else {}, shown=shown,
                           args={k: v for k, v in values.items() if v}), 400 if errors else 200


def _search(values: dict, ticket: Ticket | None) -> tuple[list[Article], dict]:
    """The ranked hits for the words typed, logged as the console's search (for the ticket, when named),
    and the variant each matched best."""
    states = (values["state"],) if values["state"] else knowledge.LIVE_STATES
    result = figures.search_articles(values["q"], user=me(), ticket=ticket, origin="console", states=states,
                                        limit=SEARCH_LIMIT)
    return [hit.article for hit in result.found], {hit.article.id: hit.variant for hit in result.found}


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
        errors[key] = _("a ticket number, not '%(text)s'", text=text.strip())
        return None
    try:
        return tickets.get_ticket(form_number(number))
    except NotFound as exc:
        errors[key] = said(exc)
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
    return render_template("error.html", title=_("No such article"),
                           message=_("There is no article %(id)s.", id=article_id)), 404


def _words() -> dict[str, str]:
    """What the pages call the knowledge base's states, actions and kinds, in the page's language."""
    return {
        "draft": pgettext("article state", "draft"), "not_validated": pgettext("article state", "not validated"),
        "validated": pgettext("article state", "validated"), "published": pgettext("article state", "published"),
        "archived": pgettext("article state", "archived"),
        "submit": pgettext("article action", "Submit"), "validate": pgettext("article action", "Validate"),
        "publish": pgettext("article action", "Publish"), "unpublish": pgettext("article action", "Unpublish"),
        "archive": pgettext("article action", "Archive"), "restore": pgettext("article action", "Restore"),
        "created": pgettext("article link", "created"), "reused": pgettext("article link", "reused"),
        "reply": pgettext("article link", "reply"), "suggested": pgettext("article link", "suggested"),
        "inaccurate": pgettext("article flag", "inaccurate"), "outdated": pgettext("article flag", "outdated"),
        "duplicate": pgettext("article flag", "duplicate"), "wrong": pgettext("article flag", "wrong"),
        "incomplete": pgettext("article flag", "incomplete"), "reopened": pgettext("article flag", "reopened"),
        "rewrite": pgettext("article flag", "needs rewriting as steps"),
    }


@blueprint.app_template_global()
def kb_word(value: str) -> str:
    """A state, action or kind as the page's reader says it (unknown values as they are)."""
    return _words().get(value, value)


@blueprint.app_template_global()
def variant_url(found: Article, language: str | None = None, **more) -> str:
    """The article page showing its `language` variant (the plain address when it has only one)."""
    several = language and len(found.variant_list) > 1
    return url_for("knowledge.article", article_id=found.id, language=language if several else None, **more)


def language_label(code: str) -> str:
    """A language's name in the page's language ("ru" on a Norwegian page: "russisk")."""
    return language_name(code, str(get_locale() or "en"))


def _shown_variant(found: Article, language: str | None):
    """The variant a page shows: the one asked for (?language=), else the furthest along."""
    return (found.variant(language) if language else None) or found.primary


def _article_page(found: Article, status: int = 200, language: str | None = None, **forms):
    """The article with everything about it, its variant in `language` shown; `forms` carries a refused
    form's values and messages back."""
    forms = {"flag_values": {}, "flag_errors": {}, "clear_values": {}, "clear_errors": {}, "state_note": "",
             "state_messages": [], "template_name": "", "template_error": "", "removal_error": "", **forms}
    variant = _shown_variant(found, language or request.values.get("language"))
    return render_template(
        "knowledge/article.html", article=found, variant=variant, text=ArticleText.of(variant),
        revisions=knowledge.revisions(found),
        needs=figures.language_gaps([found.id]),
        flags=list(ArticleFlag.select(ArticleFlag, User).join(User, JOIN.LEFT_OUTER,
                                                               on=(ArticleFlag.raised_by == User.id))
                   .where(ArticleFlag.article == found.id).order_by(ArticleFlag.id)),
        links=list(ArticleLink.select(ArticleLink, Ticket).join(Ticket).where(ArticleLink.article == found.id)
                   .order_by(ArticleLink.id)),
        source=Ticket.get_or_none(Ticket.id == found.source_ticket_id) if found.source_ticket_id else None,
        templates=list(ReplyTemplate.select().where(ReplyTemplate.article == found.id)
                       .order_by(ReplyTemplate.name, ReplyTemplate.language)),
        actions=_actions_for(variant, me()), flag_kinds=[(k, kb_word(k)) for k in FLAG_CHOICES],
        public_url=knowledge.public_url(current_app.config["PATROLDESK"], found, variant.language),
        checked=variant.state in knowledge.CHECKED_STATES, language_label=language_label,
        removals=knowledge.removals_of(found, variant.language),
        answers=figures.self_service(article_ids=[found.id]),
        comments=list(ArticleFeedback.select().where((ArticleFeedback.article == found.id)
                                                     & (ArticleFeedback.comment != ""))
                      .order_by(ArticleFeedback.id.desc()).limit(5)),
        removal_kind=lambda kind: said(REMOVAL_KINDS.get(kind, kind)),
        field_name=lambda field: said(FIELD_NAMES.get(field, field)), **forms), status


def _actions_for(variant, user: User) -> list[str]:
    """The lifecycle actions knowledge.TRANSITIONS offers from the variant's state to this user's role."""
    return [action for action, (sources, _target, roles) in knowledge.TRANSITIONS.items()
            if variant.state in sources and (roles is None or user.role in roles)]


@blueprint.route("/<int:article_id>/state", methods=["POST"])
@requires("agent")
def change_state(article_id: int):
    found = _article_or_none(article_id)
    if found is None:
        return _missing(article_id)
    action, note = request.form.get("action", ""), request.form.get("note", "")
    language = request.form.get("language") or None
    try:
        changed = knowledge.transition(found, action, me(), note.strip(), language=language)
    except ArticleRefused as exc:
        return _article_page(found, 400, language, state_note=note,
                             state_messages=[f"{said(FIELD_NAMES.get(key, key))}: {said(why)}"
                                             for key, why in exc.problems.items()])
    except PatroldeskError as exc:  # NotAllowed, or an action that does not exist
        return _article_page(found, 400, language, state_note=note, state_messages=[said(exc)])
    variant = _shown_variant(changed, language)
    if action == "validate":
        _suggest_again()
    flash(_("Article %(id)s (%(language)s) is %(state)s now (revision %(revision)s).", id=changed.id,
            language=language_label(variant.language), state=kb_word(variant.state), revision=changed.revision))
    return redirect(variant_url(changed, variant.language))


def _suggest_again() -> None:
    """Open tickets are offered the new knowledge; a failure here leaves the validation standing."""
    try:
        knowledge.suggest_again(current_app.config["PATROLDESK"])
    except Exception:  # noqa: BLE001 - suggestions are a help, the validation is done
        current_app.logger.exception("suggestions were not made again after a validation")


@blueprint.route("/<int:article_id>/removals/<int:removal_id>/restore", methods=["POST"])
@requires("agent")
def restore_removal(article_id: int, removal_id: int):
    """Put back one thing drafting took out, where it was taken from (a new revision)."""
    found = _article_or_none(article_id)
    if found is None:
        return _missing(article_id)
    language = request.form.get("language") or None
    try:
        changed = knowledge.restore_removal(found, removal_id, me())
    except ArticleRefused as exc:
        return _article_page(found, 400, language, removal_error="; ".join(map(said, exc.problems.values())))
    except PatroldeskError as exc:  # NotAllowed: a published variant (a reviewer's), or an archived one
        return _article_page(found, 400, language, removal_error=said(exc))
    flash(_("Put back; the article is at revision %(revision)s.", revision=changed.revision))
    return redirect(variant_url(changed, language) + "#removals")


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
        return _article_page(found, 400, flag_values=values, flag_errors=_said_all(errors))
    flash(_("Flag %(id)s raised (%(kind)s): it waits for a reviewer.", id=raised.id, kind=kb_word(raised.kind)))
    return redirect(url_for("knowledge.article", article_id=found.id))


def _said_all(errors: dict) -> dict[str, str]:
    """A form's messages in the page's language (the domain's refusals, and the console's own as they are)."""
    return {key: said(why) for key, why in errors.items()}


def _duplicate_of(text: str, errors: dict) -> Article | None:
    number = text.strip()
    if not number:
        return None
    found = _article_or_none(form_number(number)) if form_number(number) else None
    if found is None:
        errors["duplicate_of"] = _("no article '%(number)s': give the number of the article this one repeats",
                                   number=number)
    return found


@blueprint.route("/<int:article_id>/flags/<int:flag_id>/clear", methods=["POST"])
@requires("reviewer")
def clear_flag(article_id: int, flag_id: int):
    found = _article_or_none(article_id)
    raised = ArticleFlag.get_or_none((ArticleFlag.id == flag_id) & (ArticleFlag.article == article_id))
    if found is None or raised is None:
        return render_template("error.html", title=_("No such flag"),
                               message=_("Article %(article)s has no flag %(flag)s.", article=article_id,
                                         flag=flag_id)), 404
    note = request.form.get("note", "")
    try:
        knowledge.clear_flag(raised, me(), note)
    except PatroldeskError as exc:  # no note (ArticleRefused), or cleared meanwhile (NotAllowed)
        why = "; ".join(map(said, exc.problems.values())) if isinstance(exc, ArticleRefused) else said(exc)
        return _article_page(found, 400, clear_values={raised.id: note}, clear_errors={raised.id: why})
    flash(_("Flag %(id)s cleared.", id=raised.id))
    return redirect(url_for("knowledge.article", article_id=found.id))


@blueprint.route("/<int:article_id>/template", methods=["POST"])
@requires("reviewer")
def make_template(article_id: int):
    found = _article_or_none(article_id)
    if found is None:
        return _missing(article_id)
    name = request.form.get("name", "").strip()
    language = request.form.get("language") or None
    try:
        saved = article_replies.template_from_article(current_app.config["PATROLDESK"], found, me(), name or None,
                                                      language=language)
    except PatroldeskError as exc:  # not checked yet, a name taken, a template that does not render
        return _article_page(found, 400, language, template_name=name, template_error=said(exc))
    flash(_("Reply template %(name)s made from revision %(revision)s of article %(id)s (%(language)s).",
            name=saved.name, language=language_label(saved.language), revision=saved.article_revision, id=found.id))
    return redirect(variant_url(found, saved.language))


# Writing articles ---------------------------------------------------------------

@blueprint.route("/new", methods=["GET", "POST"])
@requires("agent")
def new():
    if request.method == "GET":
        return _form_page(None, {"ticket": request.args.get("ticket", ""),
                                 "language": request.args.get("language", "")}, {})
    values = _form_values()
    errors: dict[str, str] = {}
    ticket = _ticket_of(values["ticket"], errors)
    text = _text_of(values)
    if values["language"]:
        errors.update(knowledge.check_language(values["language"]))
    if errors:
        return _form_page(None, values, _said_all({**knowledge.check_text(text), **errors}), 400)
    try:
        created = knowledge.create_article(text, me(), ticket=ticket, note=values["note"].strip() or "written",
                                           language=values["language"] or None)
    except ArticleRefused as exc:
        return _form_page(None, values, _said_all(exc.problems), 400)
    flash(_("Draft article %(id)s written (%(language)s).", id=created.id, language=language_label(created.language)))
    return redirect(url_for("knowledge.article", article_id=created.id))


@blueprint.route("/variants/new", methods=["GET", "POST"])
@requires("agent")
def new_variant():
    """The same problem in another language: a variant of an existing article, from a ticket or the article."""
    values = _form_values() if request.method == "POST" else {
        key: request.args.get(key, "").strip() for key in ("article", "language", "ticket")}
    errors: dict[str, str] = {}
    found = _existing_article(values.get("article", ""), errors)
    ticket = _ticket_of(values.get("ticket", ""), errors)
    if values.get("language"):
        errors.update(knowledge.check_language(values["language"]))
    if request.method == "GET":
        return _variant_page(found, values, _said_all(errors), 400 if errors else 200)
    text = _text_of(values)
    if not values["language"]:
        errors["language"] = _("choose the language the variant is written in")
    if errors:
        return _variant_page(found, values, _said_all({**knowledge.check_text(text), **errors}), 400)
    try:
        variant = knowledge.add_variant(found, values["language"], text, me(), ticket=ticket,
                                        note=values["note"].strip())
    except ArticleRefused as exc:
        return _variant_page(found, values, _said_all(exc.problems), 400)
    except PatroldeskError as exc:  # NotAllowed: archived
        return _variant_page(found, values, {"article": said(exc)}, 400)
    flash(_("Article %(id)s has a %(language)s variant now (a draft).", id=found.id,
            language=language_label(variant.language))
          + (" " + _("Ticket #%(number)s is linked to it.", number=ticket.number) if ticket else ""))
    return redirect(variant_url(found, variant.language))


def _existing_article(text: str, errors: dict) -> Article | None:
    number = form_number(text.strip().lstrip("#")) if text.strip() else None
    found = _article_or_none(number) if number else None
    if found is None:
        errors["article"] = _("no article '%(number)s': give the number of the article that has this problem",
                              number=text.strip())
    return found


def _variant_page(found: Article | None, values: dict, errors: dict, status: int = 200):
    """The form of a new variant, the article's other variants beside it to translate from."""
    return render_template("knowledge/variant_form.html", article=found, values=values, errors=errors,
                           languages=_language_choices(found), language_label=language_label), status


def _language_choices(found: Article | None) -> list[tuple[str, str]]:
    have = set(found.languages) if found else set()
    return [(code, language_label(code)) for code in DETECTED if code not in have]


@blueprint.route("/<int:article_id>/edit", methods=["GET", "POST"])
@requires("agent")
def edit(article_id: int):
    found = _article_or_none(article_id)
    if found is None:
        return _missing(article_id)
    variant = _shown_variant(found, request.values.get("language"))
    if request.method == "GET":
        return _form_page(found, _values_of(variant), {}, variant=variant)
    values = _form_values()
    if values["base_revision"] not in ("", str(found.revision)):
        return _changed_meanwhile(found, values, variant)
    errors: dict[str, str] = {}
    ticket = _ticket_of(values["ticket"], errors)
    text = _text_of(values)
    if errors:
        errors = {**knowledge.check_text(text), **errors}
    else:
        try:
            edited = knowledge.edit_article(found, text, me(), ticket=ticket, note=values["note"].strip() or "edited",
                                            language=variant.language)
        except ArticleRefused as exc:
            errors = exc.problems
        except PatroldeskError as exc:  # NotAllowed: archived, or published and the user is an agent
            errors = {"article": exc}
    if errors:
        return _form_page(found, values, _said_all(errors), 400, variant=variant)
    flash(_("Article %(id)s (%(language)s) is at revision %(revision)s (%(state)s).", id=edited.id,
            language=language_label(variant.language), revision=edited.revision,
            state=kb_word(edited.variant(variant.language).state)))
    return redirect(variant_url(edited, variant.language))


def _changed_meanwhile(found: Article, values: dict, variant):
    """Someone saved a revision since this form was opened: nothing is overwritten unseen."""
    compare = url_for("knowledge.diff", article_id=found.id, old=values["base_revision"], new=found.revision)
    errors = {"article": _("The article changed while you edited it: it is at revision %(revision)s now. Your text "
                           "is kept below; compare the revisions, then save again to make yours the next one.",
                           revision=found.revision)}
    values = {**values, "base_revision": str(found.revision)}
    return render_template("knowledge/form.html", article=found, values=values, errors=errors, compare=compare,
                           variant=variant, language_label=language_label, languages=[]), 409


def _form_values() -> dict[str, str]:
    return {key: request.form.get(key, "") for key in (*TEXT_FIELDS, "keywords", "note", "ticket", "base_revision",
                                                       "language", "article")}


def _values_of(variant) -> dict[str, str]:
    text = ArticleText.of(variant)
    return {**{name: getattr(text, name) for name in TEXT_FIELDS}, "keywords": ", ".join(text.keywords),
            "base_revision": str(variant.article.revision)}


def _text_of(values: dict) -> ArticleText:
    keywords = tuple(word.strip() for word in values["keywords"].split(",") if word.strip())
    return ArticleText(keywords=keywords, **{name: values[name] for name in TEXT_FIELDS})


def _form_page(found: Article | None, values: dict, errors: dict, status: int = 200, variant=None):
    return render_template("knowledge/form.html", article=found, variant=variant, values=values, errors=errors,
                           language_label=language_label, languages=_language_choices(None)), status


# Comparing revisions ------------------------------------------------------------

@dataclass(frozen=True)
class FieldDiff:
    """One field of two revisions, line beside line: (left, right, changed); None where a side has no line."""
    name: str
    rows: list[tuple[str | None, str | None, bool]]
    changed: bool

    @property
    def label(self) -> str:
        return str(_FIELD_LABELS[self.name])


_FIELD_LABELS = {"title": lazy_gettext("Title"), "issue": lazy_gettext("Issue"),
                 "environment": lazy_gettext("Environment"), "resolution": lazy_gettext("Resolution"),
                 "cause": lazy_gettext("Cause"), "keywords": lazy_gettext("Keywords")}


@blueprint.route("/<int:article_id>/diff")
@requires("agent")
def diff(article_id: int):
    found = _article_or_none(article_id)
    if found is None:
        return _missing(article_id)
    old, new = request.args.get("old", str(max(1, found.revision - 1))), request.args.get("new", str(found.revision))
    if form_number(old) is None or form_number(new) is None:
        return render_template("error.html", title=_("Compare revisions"),
                               message=_("Revisions are numbered 1 to %(last)s; compare two of them, not "
                                         "“%(old)s” and “%(new)s”.", last=found.revision, old=old, new=new)), 400
    try:
        before, after = knowledge.get_revision(found, int(old)), knowledge.get_revision(found, int(new))
    except NotFound as exc:
        return render_template("error.html", title=_("Compare revisions"), message=f"{exc}."), 404
    return render_template("knowledge/diff.html", article=found, before=before, after=after,
                           fields=side_by_side(ArticleText.of(before), ArticleText.of(after)),
                           revisions=knowledge.revisions(found), language_label=language_label)


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
    waiting = [(variant, variant.article) for variant in ArticleVariant.select(ArticleVariant, Article)
               .join(Article).where(ArticleVariant.state.in_(WAITING_STATES))
               .order_by(ArticleVariant.updated_at, ArticleVariant.id)]
    gaps = figures.language_gaps()
    return render_template("knowledge/review.html", waiting=waiting, flags=knowledge.flag_queue(),
                           stale=article_replies.stale_templates(), needs=_needs(gaps),
                           languages=figures.variant_figures(gaps), language_label=language_label,
                           health=figures.content_health(), unused_days=figures.UNUSED_DAYS,
                           quality_waiting=knowledge.quality.waiting_count())


def _needs(gaps: list) -> list[tuple[Article, list]]:
    """The articles that need a variant in their readers' language, with those gaps, most tickets first."""
    by_article: dict[int, list] = {}
    for gap in gaps:
        by_article.setdefault(gap.article_id, []).append(gap)
    articles = {a.id: a for a in Article.with_variants(list(Article.select().where(Article.id.in_(list(by_article)))))}
    return [(articles[aid], found) for aid, found in by_article.items() if aid in articles]


# On the ticket page ----------------------------------------------------------------

@dataclass(frozen=True)
class TicketArticle:
    """An article suggested for or linked to a ticket, as its customer would get it."""
    article: Article
    how: str  # suggested, or the link's kind
    choice: object  # article_replies.VariantChoice of its checked variants for the customer, or None
    missing: bool  # no variant the customer reads: it needs one


@blueprint.app_template_global()
def ticket_articles(ticket: Ticket) -> dict:
    """For the ticket page: its suggested and linked articles in the customer's language, and the
    language a new variant would be written in."""
    config = current_app.config["PATROLDESK"]
    wanted = tickets.writing_language(config, ticket.requester)
    rows = [(row.article_id, "suggested") for row in ArticleSuggestion.select(ArticleSuggestion.article)
            .where(ArticleSuggestion.ticket == ticket.id).order_by(ArticleSuggestion.rank)]
    rows += [(row.article_id, row.kind) for row in ArticleLink.select(ArticleLink.article, ArticleLink.kind)
             .where(ArticleLink.ticket == ticket.id).order_by(ArticleLink.id)]
    articles = {a.id: a for a in Article.with_variants(list(Article.select().where(
        Article.id.in_([aid for aid, _how in rows]))))}
    shown = [TicketArticle(articles[aid], how, article_replies.choose_variant(config, articles[aid], wanted),
                           bool(knowledge.missing_languages(articles[aid], [wanted])))
             for aid, how in dict(rows).items() if aid in articles]
    return {"language": wanted, "articles": shown, "language_label": language_label}
