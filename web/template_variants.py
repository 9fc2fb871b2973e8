"""Admins: a reply template's variants per language, beside its base text (web.admin edits the base).

A variant is the team's own text of a template for readers of one language; the mail goes in
it when that is the customer's language (daemon.outbound.variants). Saving one checks it as
any team template is checked (daemon.outbound.replies.save_template).
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from daemon.errors import PatroldeskError
from daemon.languages import DETECTED, SHIPPED
from daemon.outbound import replies
from daemon.outbound.variants import builtin_languages, team_languages
from daemon.store.models import ReplyTemplate
from web.access import me, requires
from web.i18n import said
from web.ticket_page import language_name

blueprint = Blueprint("template_variants", __name__, url_prefix="/admin/templates")
FIELDS = ("subject", "text", "html")


def _config():
    return current_app.config["PATROLDESK"]


def variants_of(name: str) -> list[tuple[str, str, str]]:
    """(code, name on this page, source: team, built-in or "") of the languages worth offering for
    template `name`: those it has, and those patroldesk ships."""
    team = set(team_languages(name)) - {""}
    files = set(builtin_languages(name, replies.mail_templates_folder(_config())))
    codes = sorted(team | files | set(SHIPPED), key=lambda code: language_name(code).casefold())
    return [(code, language_name(code), "team" if code in team else "built-in" if code in files else "")
            for code in codes]


@blueprint.app_context_processor
def _offer_variants() -> dict:
    return {"template_variants": variants_of}


def _variant(name: str, language: str) -> ReplyTemplate | None:
    return ReplyTemplate.get_or_none((ReplyTemplate.name == name) & (ReplyTemplate.language == language))


def _exists(name: str) -> bool:
    """A template of that name: the team's (base text or any variant) or a built-in file."""
    return bool(team_languages(name)) or bool(builtin_languages(name, replies.mail_templates_folder(_config())))


def _start(name: str, language: str) -> dict:
    """What a new variant starts from: the built-in file in that language, else the base text."""
    folder = replies.mail_templates_folder(_config())
    parts = None
    if language in builtin_languages(name, folder):
        parts = replies.builtin_parts(name, folder, language)
    base = _variant(name, "")
    if parts is None and base is not None:
        return {"subject": base.subject, "text": base.text, "html": base.html or ""}
    return {"subject": "", "text": "", "html": "", **{part.kind: part.source for part in parts or []}}


@blueprint.route("/<name>/variants/<language>", methods=["GET", "POST"])
@requires("admin")
def edit(name: str, language: str):
    if language not in DETECTED or not _exists(name):
        abort(404)
    stored = _variant(name, language)
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {field: request.form.get(field, "") for field in FIELDS}
        try:
            saved = replies.save_template(_config(), name, values["subject"], values["text"], values["html"],
                                          user=me(), language=language)
        except replies.TemplateRefused as exc:
            where = f"line {exc.line}: " if exc.line is not None else ""
            errors[exc.part if exc.part in FIELDS else "text"] = where + exc.reason
        else:
            flash(gettext("The %(language)s variant of %(name)s is saved (revision %(revision)s).",
                          language=language_name(language), name=name, revision=saved.revision))
            return redirect(url_for("template_variants.edit", name=name, language=language))
    elif stored is not None:
        values = {"subject": stored.subject, "text": stored.text, "html": stored.html or ""}
    else:
        values = _start(name, language)
    preview, preview_error = None, None
    if stored is not None:
        try:
            preview = replies.render(_config(), name, replies.sample_context(_config()), picked=language)
        except PatroldeskError as exc:
            preview_error = said(exc)
    return render_template("admin/template_variant.html", name=name, language=language, stored=stored,
                           values=values, errors=errors, preview=preview, preview_error=preview_error,
                           language_name=language_name), 400 if errors else 200


@blueprint.route("/<name>/variants/<language>/delete", methods=["POST"])
@requires("admin")
def delete(name: str, language: str):
    stored = _variant(name, language)
    if stored is None or not language:
        abort(404)
    stored.delete_instance()
    flash(gettext("The %(language)s variant of %(name)s is deleted.", language=language_name(language), name=name))
    return redirect(url_for("admin.templates_list"))
