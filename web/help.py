"""The public help center: published articles for customers to read and search, their answers, and a form to
write to support. No sign-in; no script needed.

Every page speaks the language its address names (/help/nb/..., or ?lang=
on the home, search and contact pages), else the browser's, else [web]
language. Only published variants exist here (daemon.knowledge.published);
anything else answers 404. A search is logged like an agent's, with no
address and no cookie id, so what customers cannot find becomes a knowledge
gap. The answers to "Did this solve it?" and the contact form are protected
by the console's CSRF token and a per-client limit (web.throttle); the form
also by a field people leave empty. What the visitor searched for and read is
kept in their session and travels with the form to the agent.
"""
from __future__ import annotations

from flask import (
    Blueprint, Flask, current_app, g, redirect, render_template, request, session, url_for,
)
from flask_babel import gettext as _

from daemon.errors import NotFound
from daemon.ingest.sources import helpform
from daemon.knowledge import public, published
from daemon.languages import DETECTED, SHIPPED, normalise
from web.access import PUBLIC, requires
from web.i18n import LANGUAGE_NAMES, browser_language, said
from web.knowledge import language_label
from web.throttle import allowed

blueprint = Blueprint("help", __name__, url_prefix=public.HELP_PATH)

SEARCH_LIMIT = 10  # a reader looks at the first few; a longer list only costs time
ARTICLE_MAX_AGE = 300  # seconds a browser may keep an article page
_TRAIL_TEXT = 100  # characters of a search or title kept in the session's trail
HONEYPOT = "website"  # a field people never see (hidden by the style sheet) and bots fill in


def init_app(app: Flask) -> None:
    """Register the help center unless [help] enabled is false; with [help] host, serve it only there
    and nothing else on that host."""
    config = app.config["PATROLDESK"]
    if not config.help.enabled:
        return
    app.register_blueprint(blueprint)
    app.add_template_global(public.slug, "slug")
    app.add_template_global(lambda: config.support.name, "support_name")
    if config.help.host:
        app.before_request(_by_host)


def _by_host():
    """On [help] host: the help center, its style sheet, and / leading to it; nothing of the console. Elsewhere:
    no help center."""
    ours = request.host.lower() == current_app.config["PATROLDESK"].help.host
    if ours and request.blueprint != "help" and request.endpoint != "static":
        return redirect(url_for("help.home")) if request.path == "/" else _missing()
    if not ours and request.blueprint == "help":
        return _missing()
    return None


# Language --------------------------------------------------------------------------

def _language(asked: str | None = None) -> str:
    """The page's language: the address's (`asked`, or ?lang=), else the browser's, else the default;
    its words are said in it where the console has a catalogue."""
    code = normalise(asked or request.args.get("lang") or "")
    if code not in DETECTED:
        code = browser_language(DETECTED) or current_app.config["PATROLDESK"].web.language
    g.page_language = code if code in SHIPPED else ""
    return code


def _page(template: str, language: str, status: int = 200, **context):
    return render_template(f"help/{template}", language=language, language_label=language_label,
                           languages=[(code, LANGUAGE_NAMES[code]) for code in SHIPPED], **context), status


# The trail: what the visitor searched for and read, kept in their session -------------------

def _trail() -> dict:
    return session.get("help_trail") or {"searches": [], "read": []}


def _remember(kind: str, item: list, last_search: int | None = None) -> None:
    trail = _trail()
    trail[kind] = [*(i for i in trail[kind] if i != item), item][-helpform.TRAIL_ITEMS:]
    if last_search is not None:
        trail["last_search"] = last_search
    session["help_trail"] = trail


# Pages ----------------------------------------------------------------------------------

@blueprint.route("/")
@requires(PUBLIC)
def home():
    language = _language()
    limit = current_app.config["PATROLDESK"].help.home_articles
    return _page("home.html", language, pages=published.most_used(language, limit))


@blueprint.route("/search")
@requires(PUBLIC)
def search():
    language = _language()
    words = " ".join(request.args.get("q", "").split())[:500]
    if not words:
        return redirect(url_for("help.home", lang=language))
    found = published.search(words, language, SEARCH_LIMIT)
    _remember("searches", [words[:_TRAIL_TEXT], len(found.pages)], last_search=found.log_id)
    return _page("search.html", language, words=words, pages=found.pages)


@blueprint.route("/<language>/<int:article_id>")
@blueprint.route("/<language>/<int:article_id>-<path:words>")
@requires(PUBLIC)
def article(language: str, article_id: int, words: str = ""):
    try:
        shown = published.page(article_id, language)
    except NotFound:
        return _missing(language)
    canonical = public.slug(shown.variant.title)
    if words != canonical or language != shown.variant.language:
        return redirect(url_for("help.article", language=shown.variant.language, article_id=article_id,
                                words=canonical), 301)
    _language(shown.variant.language)
    last = _trail().get("last_search")
    if last:
        published.opened_from_search(last, article_id)
    _remember("read", [article_id, shown.variant.language, shown.variant.title[:_TRAIL_TEXT]])
    page, status = _page("article.html", shown.variant.language, shown=shown,
                         answered=request.args.get("answered"))
    response = current_app.make_response((page, status))
    # Private: the page carries this visitor's form token; a browser may keep it a few minutes.
    response.headers["Cache-Control"] = f"private, max-age={ARTICLE_MAX_AGE}"
    response.last_modified = shown.variant.updated_at
    return response


def _missing(language: str | None = None):
    return _page("missing.html", _language(language), 404)


@blueprint.route("/<language>/<int:article_id>/answer", methods=["POST"])
@requires(PUBLIC)
def answer(language: str, article_id: int):
    """ "Did this solve it?": yes or no, and a comment."""
    try:
        shown = published.page(article_id, language)
    except NotFound:
        return _missing(language)
    _language(shown.variant.language)
    limit = current_app.config["PATROLDESK"].help.posts_per_minute
    if not allowed("answer", limit):
        return _too_many(shown.variant.language)
    helpful = request.form.get("solved")
    if helpful not in ("yes", "no"):
        return _page("article.html", shown.variant.language, 400, shown=shown,
                     answer_error=_("Choose yes or no."), comment=request.form.get("comment", ""))
    published.record_feedback(shown, helpful == "yes", request.form.get("comment", ""))
    return redirect(url_for("help.article", language=shown.variant.language, article_id=article_id,
                            words=public.slug(shown.variant.title), answered=helpful) + "#answer")


def _too_many(language: str):
    return _page("too_many.html", language, 429)


@blueprint.route("/contact", methods=["GET", "POST"])
@requires(PUBLIC)
def contact():
    language = _language()
    if request.method == "GET":
        return _page("contact.html", language, values={"subject": request.args.get("subject", "")[:200]},
                     errors={})
    config = current_app.config["PATROLDESK"]
    if not allowed("contact", config.help.posts_per_minute):
        return _too_many(language)
    values = {name: request.form.get(name, "") for name in ("name", "address", "subject", "text")}
    if request.form.get(HONEYPOT, "").strip():
        return _page("contact.html", language, 400, values=values, errors={},
                     refused=_("The form was not sent: a field meant to stay empty was filled in."))
    contact_form = helpform.Contact(**values, language=language, trail=_trail())
    try:
        helpform.spool_contact(config, contact_form)
    except helpform.ContactRefused as refused:
        return _page("contact.html", language, 400, values=values,
                     errors={key: said(why) for key, why in refused.problems.items()})
    wake = current_app.config.get("PATROLDESK_WAKE_PIPELINE")
    if wake:
        wake()
    session.pop("help_trail", None)
    return _page("sent.html", language, address=values["address"].strip())
