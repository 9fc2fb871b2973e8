"""Admins: the mailboxes' status, the daemons of the cluster, users, reply templates, policies.

Each page calls the domain function the CLI calls (daemon.people for
people, daemon.outbound.replies and daemon.knowledge.article_replies for
templates, daemon.patrol.policies for rules); a refusal comes back as a message beside the
field it is about, with everything typed kept. A new password is shown once,
in the answer to the form that made it, and never put in the session cookie.
"""
from __future__ import annotations

import json

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from peewee import JOIN, fn

from daemon import tickets
from daemon.errors import NotFound, PatroldeskError
from daemon.languages import N_
from daemon.ingest.sources.imap import mailbox_states
from daemon.knowledge import article_replies
from daemon.outbound import replies
from daemon.patrol import policies, policy_state
from daemon.people import accounts, users
from daemon.store import cluster
from daemon.store.models import (
    ROLES, Article, Inbound, Outgoing, Policy, PolicyFiring, ReplyTemplate, User,
)
from web.access import me, requires
from web.i18n import said, word
from web.params import number

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


def _config():
    return current_app.config["PATROLDESK"]


def _form(*names: str) -> dict:
    """The submitted fields, as typed (a missing one is empty)."""
    return {name: request.form.get(name, "") for name in names}


def _not_found(exc: PatroldeskError):
    return render_template("error.html", title=_("Not found"), message=said(exc)), 404


# The overview ------------------------------------------------------------------

@blueprint.route("/")
@requires("admin")
def index():
    outbox = dict(Outgoing.select(Outgoing.state, fn.COUNT(Outgoing.id)).group_by(Outgoing.state).tuples())
    failures = (Outgoing.select(Outgoing.id, Outgoing.state, Outgoing.subject, Outgoing.last_error,
                                Outgoing.attempts, Outgoing.created_at)
                .where(Outgoing.state.in_(("failed", "bounced", "uncertain"))).order_by(Outgoing.id.desc()).limit(5))
    return render_template(
        "admin/index.html", mailboxes=mailbox_states(_config()), outbox=outbox, failures=list(failures),
        quarantined=Inbound.select().where(Inbound.state == "quarantined").count(),
        stale=len(article_replies.stale_templates()))


# The cluster -------------------------------------------------------------------

# What each daemon was started to do (`patroldesk run --only`), in the page's language.
DAEMON_ROLES = {"ingest": N_("ingest"), "outbox": N_("outbox"), "scheduler": N_("scheduler"),
                "console": N_("console")}


@blueprint.route("/cluster")
@requires("admin")
def cluster_page():
    """The daemons seen in the last hour (as `patroldesk cluster` lists them), and the mailboxes
    no live daemon reads."""
    dead_after = _config().cluster.dead_after_seconds
    found = cluster.nodes(dead_after)
    unread = cluster.unread_mailboxes([box.label for box in _config().mailbox], found)
    return render_template("admin/cluster.html", daemons=found, unread=unread, dead_after=dead_after,
                           role_names=DAEMON_ROLES)


# Users -------------------------------------------------------------------------

@blueprint.route("/users")
@requires("admin")
def users_list():
    return render_template("admin/users.html", people=list(User.select().order_by(User.username)))


@blueprint.route("/users/new", methods=["GET", "POST"])
@requires("admin")
def user_new():
    if request.method == "GET":
        return render_template("admin/user_new.html", values={"role": "agent"}, errors={})
    values = _form("username", "role", "name", "email")
    typed = request.form.get("password", "")
    password = typed or users.new_password()
    try:
        user = accounts.create_account(values["username"].strip(), values["role"], password,
                                       name=values["name"].strip(), email=values["email"].strip(), actor=me())
    except accounts.AccountRefused as exc:
        return render_template("admin/user_new.html", values=values, errors={exc.field: said(exc)}), 400
    return render_template("admin/password_shown.html", person=user, password=None if typed else password,
                           created=True)


@blueprint.route("/users/<int:user_id>")
@requires("admin")
def user_page(user_id: int):
    return _user_page(user_id, {})


def _user_page(user_id: int, errors: dict, status: int = 200):
    try:
        person = accounts.get_user(user_id)
    except NotFound as exc:
        return _not_found(exc)
    return render_template("admin/user.html", person=person, roles=[(role, word(role)) for role in ROLES],
                           errors=errors, values={"role": request.form.get("role", person.role),
                                                  "language": request.form.get("language", person.language)}), status


@blueprint.route("/users/<int:user_id>/role", methods=["POST"])
@requires("admin")
def user_role(user_id: int):
    try:
        person = accounts.set_role(accounts.get_user(user_id), request.form.get("role", ""), me())
    except NotFound as exc:
        return _not_found(exc)
    except PatroldeskError as exc:
        return _user_page(user_id, {"role": said(exc)}, 400)
    flash(_("%(user)s is now %(role)s; their sessions are signed out.", user=person.username, role=word(person.role)))
    return redirect(url_for("admin.user_page", user_id=user_id))


@blueprint.route("/users/<int:user_id>/active", methods=["POST"])
@requires("admin")
def user_active(user_id: int):
    try:
        person = accounts.set_active(accounts.get_user(user_id), request.form.get("active") == "1", me())
    except NotFound as exc:
        return _not_found(exc)
    except PatroldeskError as exc:
        return _user_page(user_id, {"active": said(exc)}, 400)
    flash(_("%(user)s can sign in again.", user=person.username) if person.active
          else _("%(user)s is deactivated and signed out.", user=person.username))
    return redirect(url_for("admin.user_page", user_id=user_id))


@blueprint.route("/users/<int:user_id>/password", methods=["POST"])
@requires("admin")
def user_password(user_id: int):
    try:
        person = accounts.get_user(user_id)
        password = accounts.reset_password(person, me())
    except NotFound as exc:
        return _not_found(exc)
    except PatroldeskError as exc:
        return _user_page(user_id, {"password": said(exc)}, 400)
    return render_template("admin/password_shown.html", person=person, password=password, created=False)


@blueprint.route("/users/<int:user_id>/language", methods=["POST"])
@requires("admin")
def user_language(user_id: int):
    try:
        person = accounts.set_language(accounts.get_user(user_id), request.form.get("language", ""), me())
    except NotFound as exc:
        return _not_found(exc)
    except PatroldeskError as exc:
        return _user_page(user_id, {"language": said(exc)}, 400)
    flash(_("%(user)s's console language is saved.", user=person.username))
    return redirect(url_for("admin.user_page", user_id=user_id))


# Reply templates ---------------------------------------------------------------

TEMPLATE_FIELDS = ("name", "subject", "text", "html")


def _builtin_names() -> list[str]:
    """The built-in templates: the files of the mail templates folder, without .txt.j2 / .html.j2."""
    return replies.builtin_names(replies.mail_templates_folder(_config()))  # one name for all its languages


@blueprint.route("/templates")
@requires("admin")
def templates_list():
    stored = list(ReplyTemplate.select(ReplyTemplate, User.username)
                  .join(User, JOIN.LEFT_OUTER, on=(ReplyTemplate.updated_by == User.id)).order_by(ReplyTemplate.name))
    return render_template("admin/templates.html", stored=stored, builtins=_builtin_names(),
                           stale=article_replies.stale_templates(), stored_names={t.name for t in stored})


@blueprint.route("/templates/new", methods=["GET", "POST"])
@requires("admin")
def template_new():
    if request.method == "GET":
        return _template_form({}, {}, editing=False)
    values = _form(*TEMPLATE_FIELDS)
    values["name"] = values["name"].strip()
    if ReplyTemplate.get_or_none((ReplyTemplate.name == values["name"]) & (ReplyTemplate.language == "")) is not None:
        return _template_form(values, {"name": _("a team template of that name exists: edit it instead")}, 400,
                              editing=False)
    return _save_template(values, editing=False)


@blueprint.route("/templates/<name>", methods=["GET", "POST"])
@requires("admin")
def template_edit(name: str):
    stored = ReplyTemplate.get_or_none((ReplyTemplate.name == name) & (ReplyTemplate.language == ""))
    builtin = _builtin_source(name)
    if stored is None and builtin is None:
        return _not_found(NotFound(N_("no reply template named %(name)r", name=name)))
    if request.method == "POST":
        return _save_template(dict(_form(*TEMPLATE_FIELDS), name=name), editing=True)
    if stored is not None:
        values = {"name": name, "subject": stored.subject, "text": stored.text, "html": stored.html or ""}
    else:
        values = dict(builtin, name=name)
    return _template_form(values, {})


def _builtin_source(name: str) -> dict | None:
    """The subject, text and HTML of the built-in `name` as written (a start for the team's own
    version of it), or None when there is no such file. A file that cannot be read starts empty;
    the preview says what is wrong with it."""
    if name not in _builtin_names():
        return None
    try:
        parts = replies.builtin_parts(name, replies.mail_templates_folder(_config())) or []
    except (PatroldeskError, OSError, UnicodeDecodeError):
        parts = []
    return {"subject": "", "text": "", "html": "", **{part.kind: part.source for part in parts}}


def _save_template(values: dict, editing: bool):
    """Check and store the typed template; a refusal goes beside the part it is about."""
    try:
        saved = replies.save_template(_config(), values["name"], values["subject"], values["text"],
                                      values["html"], user=me())
    except replies.TemplateRefused as exc:
        where = _("line %(line)s: ", line=exc.line) if exc.line is not None else ""
        return _template_form(values, {exc.part or "name": where + said(exc.reason)}, 400, editing=editing)
    flash(_("Template %(name)s saved (revision %(revision)s).", name=saved.name, revision=saved.revision))
    return redirect(url_for("admin.template_edit", name=saved.name))


def _template_form(values: dict, errors: dict, status: int = 200, editing: bool = True):
    """The edit page: the fields, and a preview of the template as stored now, on the sample ticket."""
    name = values.get("name", "")
    stored = ReplyTemplate.get_or_none((ReplyTemplate.name == name) & (ReplyTemplate.language == "")) if editing \
        else None
    preview, preview_error = None, None
    if editing:
        try:
            preview = replies.render(_config(), name, replies.sample_context(_config()))
        except PatroldeskError as exc:
            preview_error = said(exc)
    article = Article.get_or_none(Article.id == stored.article_id) if stored and stored.article_id else None
    return render_template("admin/template_edit.html", editing=editing, stored=stored, values=values,
                           errors=errors, preview=preview, preview_error=preview_error, article=article,
                           builtin=name in _builtin_names(), variables=replies.CONTEXT_VARIABLES), status


@blueprint.route("/templates/<name>/reviewed", methods=["POST"])
@requires("admin")
def template_reviewed(name: str):
    stored = ReplyTemplate.get_or_none(ReplyTemplate.name == name)
    if stored is None:
        return _not_found(NotFound(N_("no team template named %(name)r", name=name)))
    try:
        article_replies.mark_reviewed(stored, me())
    except PatroldeskError as exc:
        flash(said(exc), "error")
    except Article.DoesNotExist:
        flash(_("Template %(name)s was made from an article that no longer exists: edit or remake it.", name=name),
              "error")
    else:
        flash(_("Template %(name)s marked reviewed.", name=name))
    if request.form.get("back") == "list":
        return redirect(url_for("admin.templates_list"))
    return redirect(url_for("admin.template_edit", name=name))


# Policies ----------------------------------------------------------------------

POLICY_FIELDS = ("name", "condition", "action", "description")


@blueprint.route("/policies")
@requires("admin")
def policies_list():
    fired = dict(PolicyFiring.select(PolicyFiring.policy, fn.COUNT(PolicyFiring.id))
                 .group_by(PolicyFiring.policy).tuples())
    return render_template("admin/policies.html", rules=list(Policy.select().order_by(Policy.id)), fired=fired)


@blueprint.route("/policies/new", methods=["GET", "POST"])
@requires("admin")
def policy_new():
    if request.method == "GET":
        return _policy_form(None, {}, {})
    values = _form(*POLICY_FIELDS)
    if Policy.get_or_none(Policy.name == values["name"].strip()) is not None:
        return _policy_form(None, values, {"name": _("a policy of that name exists: edit it instead")}, 400)
    return _save_policy(None, values)


@blueprint.route("/policies/<int:policy_id>", methods=["GET", "POST"])
@requires("admin")
def policy_edit(policy_id: int):
    try:
        rule = policy_state.get_policy_by_id(policy_id)
    except NotFound as exc:
        return _not_found(exc)
    if request.method == "POST":
        return _save_policy(rule, dict(_form(*POLICY_FIELDS), name=rule.name))
    values = {"name": rule.name, "condition": rule.condition, "action": rule.action,
              "description": rule.description}
    return _policy_form(rule, values, {})


def _save_policy(rule: Policy | None, values: dict):
    """Store the typed policy; each part's refusal goes beside it (all of them at once)."""
    errors = {}
    for field, check in (("condition", policies.compile_condition), ("action", policies.check_action)):
        try:
            check(values[field])
        except policies.PolicyRefused as exc:
            errors[field] = said(exc)
    if not errors:
        try:
            saved = policies.save_policy(values["name"], values["condition"], values["action"],
                                         values["description"].strip(), user=me())
        except policies.PolicyRefused as exc:
            errors["name"] = said(exc)
    if errors:
        return _policy_form(rule, values, errors, 400)
    flash(_("Policy %(name)s saved and enabled.", name=saved.name))
    return redirect(url_for("admin.policies_list"))


def _policy_form(rule: Policy | None, values: dict, errors: dict, status: int = 200):
    return render_template("admin/policy_edit.html", rule=rule, values=values, errors=errors,
                           variables=policies.VARIABLES, actions=policies.ACTIONS), status


@blueprint.route("/policies/<int:policy_id>/enabled", methods=["POST"])
@requires("admin")
def policy_enabled(policy_id: int):
    try:
        rule = policy_state.set_enabled(policy_state.get_policy_by_id(policy_id).name,
                                        request.form.get("enabled") == "1")
    except NotFound as exc:
        return _not_found(exc)
    flash(_("Policy %(name)s enabled.", name=rule.name) if rule.enabled
          else _("Policy %(name)s disabled.", name=rule.name))
    return redirect(url_for("admin.policies_list"))


@blueprint.route("/policies/try")
@requires("admin")
def policy_try():
    """Which policies would act on a ticket now (a dry run: nothing changes)."""
    ref = request.args.get("ticket", "").strip()
    result, error = None, None
    if ref:
        try:
            ticket = tickets.get_ticket(_ticket_number(ref))
            would = {firing.policy: firing.changed
                     for firing in policies.run_policies(_config(), ticket, dry_run=True)}
            result = {"ticket": ticket, "would": would,
                      "facts": json.dumps(policies.facts_for(ticket, _config()), ensure_ascii=False,
                                          sort_keys=True, indent=1),
                      "enabled": list(Policy.select().where(Policy.enabled).order_by(Policy.id))}
        except PatroldeskError as exc:
            error = said(exc)
    return render_template("admin/policy_try.html", values={"ticket": ref}, errors={"ticket": error},
                           result=result), 400 if error else 200


def _ticket_number(ref: str) -> int:
    found = number(ref.strip().lstrip("#"))
    if found is None:
        raise PatroldeskError(N_("not a ticket number: %(ref)r (a number like 10001)", ref=ref))
    return found
