"""Agents: the queue, a ticket's page, replies, notes, assignment, closing with the SBO form.

Every action is one domain call (daemon.tickets, daemon.knowledge.article_replies,
daemon.patrol); a refusal comes back as a message beside the field it is
about, with everything typed kept.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, session, url_for
from flask_babel import gettext as _

from daemon import patrol, tickets
from daemon.errors import PatroldeskError
from daemon.ingest.stages.attachments import blob_path
from daemon.knowledge import ArticleRefused, ChooseArticle, article_replies, get_article, unlink
from daemon.outbound import possibly_sent, replies
from daemon.store.models import FLAG_KINDS, OUTCOME_KINDS, Attachment, Message, Ticket, User, utcnow
from daemon.tickets import queue as ticket_queue
from web.access import me, requires
from web.i18n import said, word
from web.mailview import document as mail_document, policy as mail_policy, sanitize as sanitize_mail
from web.params import number as form_number
from web.ticket_page import closed_message, language_choices, language_name, view as ticket_view

blueprint = Blueprint("tickets", __name__)


def _config():
    return current_app.config["PATROLDESK"]


def _ticket(number: int) -> Ticket:
    ticket = Ticket.by_number(number)
    if ticket is None:
        abort(404)
    return ticket


# The queue ----------------------------------------------------------------

@blueprint.route("/")
@requires("agent")
def queue_page():
    return redirect(url_for("tickets.queue"))


@blueprint.route("/tickets")
@requires("agent")
def queue():
    args = request.args
    filters = ticket_queue.Filters(
        status=args.get("status", "active"), assignee=args.get("assignee", "").strip(),
        priority=args.get("priority", ""), escalated=args.get("escalated") == "1", text=args.get("q", "")[:200],
        sort=args.get("sort", "waiting"))
    errors = ticket_queue.problems(filters)
    number = form_number(args.get("page"), largest=100_000) or 1
    rows, more = ([], False) if errors else ticket_queue.page(filters, number, _config().web.page_size, me().id)
    kept = {key: args[key] for key in ("q", "status", "assignee", "priority", "escalated", "sort") if args.get(key)}
    agents = [name for (name,) in User.select(User.username).where(User.active).order_by(User.username).tuples()]
    return render_template("tickets/queue.html", rows=rows, more=more, page=number, filters=filters, errors=errors,
                           args=kept, sorts=ticket_queue.SORTS, agents=agents,
                           statuses=("active", "all", *ticket_queue.STATUSES), now=utcnow()), \
        400 if errors else 200


# One ticket ---------------------------------------------------------------

@blueprint.route("/tickets/<int:number>")
@requires("agent")
def ticket(number: int):
    shown = _ticket(number)
    opened = utcnow()  # before the thread is read: mail arriving meanwhile stays unread
    page = _render(shown)
    ticket_queue.mark_seen(shown, opened)
    return page


def _render(ticket: Ticket, status: int = 200, **forms):
    """The ticket page; `forms` carries a refused form's values and errors back into it."""
    config = _config()
    page = ticket_view(config, ticket)
    sent = session.pop("drafts_sent", None) or {}
    chosen = forms.get("reply", {}).get("values", {})
    return render_template("tickets/ticket.html", t=page, ticket=ticket,
                           variant=replies.variant_for(config, chosen.get("template", "reply"), ticket,
                                                       chosen.get("language") or None),
                           writes_in=tickets.writing_language(config, ticket.requester),
                           language_name=language_name, language_choices=language_choices(),
                           templates=list(dict.fromkeys(article_replies.reply_templates(config))),  # a name per variant
                           outcome_kinds=[(k, word(k)) for k in OUTCOME_KINDS],
                           flag_kinds=[(k, word(k)) for k in FLAG_KINDS if k != "reopened"],
                           agents=list(User.select().where(User.active).order_by(User.username)),
                           reply=forms.get("reply", {}), close=forms.get("close", {}),
                           no_reply=tickets.reply_refusal(ticket),
                           note=forms.get("note", {}),
                           drafts_sent=sent.get("forms", []) if sent.get("ticket") == ticket.number else []), status


def _accepted(ticket: Ticket, form: str) -> None:
    """Tell the next ticket page that this form's submit was taken, so the browser drops its draft."""
    earlier = session.get("drafts_sent") or {}
    forms = earlier.get("forms", []) if earlier.get("ticket") == ticket.number else []
    session["drafts_sent"] = {"ticket": ticket.number, "forms": [*forms, form]}


@blueprint.route("/tickets/<int:number>/reply", methods=["POST"])
@requires("agent")
def reply(number: int):
    ticket = _ticket(number)
    form = request.form
    values = {"template": form.get("template", "reply"), "body": form.get("body", ""),
              "language": form.get("language", "")}
    errors = {}
    if values["template"] not in article_replies.reply_templates(_config()):
        errors["template"] = _("pick one of the listed templates")
    elif form.get("action") == "send":
        try:
            queued = article_replies.reply(_config(), ticket, values["template"], me(), body=values["body"],
                                           language=values["language"] or None)
        except PatroldeskError as exc:  # a template that does not render, an article withdrawn, ...
            errors["template"] = said(exc)
        else:
            flash(_("Reply queued to %(address)s (outbox %(id)s).", address=ticket.requester.email, id=queued.id))
            _accepted(ticket, "reply")
            return redirect(url_for("tickets.ticket", number=number) + "#latest")
    else:
        try:
            values["preview"] = replies.preview(_config(), values["template"], ticket, me(), values["body"],
                                                language=values["language"] or None)
        except PatroldeskError as exc:
            errors["template"] = said(exc)
    return _render(ticket, 400 if errors else 200, reply={"values": values, "errors": errors})


@blueprint.route("/tickets/<int:number>/notes", methods=["POST"])
@requires("agent")
def add_note(number: int):
    ticket = _ticket(number)
    text = request.form.get("text", "")
    try:
        tickets.add_note(ticket, me(), text)
    except PatroldeskError as exc:
        return _render(ticket, 400, note={"values": {"text": text}, "errors": {"text": said(exc)}})
    flash(_("Note added."))
    _accepted(ticket, "note")
    return redirect(url_for("tickets.ticket", number=number) + "#latest")


@blueprint.route("/tickets/<int:number>/assign", methods=["POST"])
@requires("agent")
def assign(number: int):
    ticket = _ticket(number)
    name = request.form.get("assignee", "").strip()
    assignee = User.get_or_none(User.username == name) if name else None
    if name and assignee is None:
        flash(_("No user %(name)r.", name=name), "error")
    else:
        try:
            tickets.assign(ticket, assignee, me())
            flash(_("Assigned to %(user)s.", user=assignee.username) if assignee else _("Unassigned."))
        except PatroldeskError as exc:
            flash(said(exc), "error")
    return redirect(url_for("tickets.ticket", number=number))


@blueprint.route("/tickets/<int:number>/customer-language", methods=["POST"])
@requires("agent")
def customer_language(number: int):
    """An agent's word on the language the customer is written to in ("" : back to detection)."""
    ticket = _ticket(number)
    code = request.form.get("language", "").strip()
    try:
        customer = tickets.set_customer_language(ticket.requester, code, actor=me(), ticket=ticket)
    except PatroldeskError as exc:
        flash(said(exc), "error")
    else:
        if code:
            flash(_("Mail to %(customer)s now goes in %(language)s.", customer=customer.email,
                    language=language_name(customer.language)))
        else:
            flash(_("The language of mail to %(customer)s follows their own mail again.",
                    customer=customer.email))
    return redirect(url_for("tickets.ticket", number=number) + "#customer-language")


@blueprint.route("/tickets/<int:number>/priority", methods=["POST"])
@requires("agent")
def priority(number: int):
    ticket = _ticket(number)
    value = request.form.get("priority", "")
    try:
        tickets.set_priority(_config(), ticket, value, actor=me())
    except PatroldeskError as exc:
        flash(said(exc), "error")
    else:
        flash(_("Priority %(priority)s; the first answer is now due by the %(priority)s SLA.", priority=word(value)))
    return redirect(url_for("tickets.ticket", number=number))


@blueprint.route("/tickets/<int:number>/mail/<int:outbox_id>/send-again", methods=["POST"],
                 defaults={"verdict": "send-again"})
@blueprint.route("/tickets/<int:number>/mail/<int:outbox_id>/arrived", methods=["POST"],
                 defaults={"verdict": "arrived"})
@requires("agent")
def mail_fate(number: int, outbox_id: int, verdict: str):
    """An agent's word on a possibly-sent mail of this ticket: it did not arrive (send it again), or it did."""
    ticket = _ticket(number)
    settle = possibly_sent.send_again if verdict == "send-again" else possibly_sent.take_as_sent
    try:
        settle(outbox_id, actor=me(), ticket=ticket)
    except PatroldeskError as exc:
        flash(said(exc), "error")
    else:
        flash(_("The mail is queued to be sent again.") if verdict == "send-again"
              else _("The mail is recorded as sent."))
    return redirect(url_for("tickets.ticket", number=number))


# Closing with the SBO note -----------------------------------------------

@blueprint.route("/tickets/<int:number>/close", methods=["POST"])
@requires("agent")
def close(number: int):
    ticket = _ticket(number)
    values = {key: request.form.get(key, "") for key in (
        "situation", "behaviour", "outcome", "outcome_kind", "cause", "tags", "status", "article",
        "flag_kind", "flag_detail", "choice", "article_title", "article_steps")}
    values["tell_behaviour"] = request.form.get("tell_behaviour") == "1"
    values["notify"] = request.form.get("notify") == "1"
    errors: dict[str, str] = {}
    # The agent's answer when closing asked about articles: one of them (its number), or "new" (a draft).
    article = _named_article(values["article"] or (values["choice"] if values["choice"] != "new" else ""), errors)
    flag = article_replies.Flag(kind=values["flag_kind"], detail=values["flag_detail"]) if values["flag_kind"] else None
    choices: list = []
    if not errors:
        try:
            report = patrol.close(_config(), ticket, _note(values), me(), status=values["status"] or "solved",
                                  notify=values["notify"], article=article, article_flag=flag,
                                  new_article=values["choice"] == "new", article_title=values["article_title"],
                                  article_steps=values["article_steps"])
        except ChooseArticle as exc:
            choices = [(found, round(score * 100)) for found, score in exc.candidates]
            errors["choice"] = _("Was it one of these articles? Pick the one that solved it, or say none did.")
        except patrol.NoteRefused as exc:
            errors.update({key: said(why) for key, why in exc.problems.items()})
        except ArticleRefused as exc:
            errors.update({f"flag_{key}" if key in ("kind", "detail") else key: said(why)
                           for key, why in exc.problems.items()})
        except PatroldeskError as exc:
            errors["form"] = said(exc)
    if errors:
        return _render(ticket, 400, close={"values": values, "errors": errors, "choices": choices})
    flash(closed_message(report))
    _accepted(ticket, "close")
    return redirect(url_for("tickets.ticket", number=number))


@blueprint.route("/tickets/<int:number>/links/<int:article_id>/unlink", methods=["POST"])
@requires("agent")
def unlink_article(number: int, article_id: int):
    """Take back a ticket's link to an article (one closing made without asking, say)."""
    ticket = _ticket(number)
    try:
        found = get_article(article_id)
    except PatroldeskError as exc:
        flash(said(exc), "error")
        return redirect(url_for("tickets.ticket", number=number))
    if unlink(found, ticket, me()):
        flash(_("Ticket #%(number)s is no longer linked to article %(id)s.", number=number, id=article_id))
    else:
        flash(_("Ticket #%(number)s was not linked to article %(id)s.", number=number, id=article_id), "error")
    return redirect(url_for("tickets.ticket", number=number) + "#suggestions")


def _note(values: dict) -> patrol.Note:
    tags = tuple(tag.strip() for tag in values["tags"].split(",") if tag.strip())
    return patrol.Note(situation=values["situation"], behaviour=values["behaviour"], outcome=values["outcome"],
                       outcome_kind=values["outcome_kind"], cause=values["cause"], tags=tags,
                       tell_behaviour=values["tell_behaviour"])


def _named_article(text: str, errors: dict):
    """The article the agent names to close with (a number, '#12', or nothing)."""
    text = text.strip().lstrip("#")
    if not text:
        return None
    if form_number(text) is None:
        errors["article"] = _("an article's number, or nothing")
        return None
    try:
        return get_article(form_number(text))
    except PatroldeskError as exc:
        errors["article"] = said(exc)
        return None


# Attachments and HTML bodies ---------------------------------------------

@blueprint.route("/tickets/<int:number>/attachments/<int:attachment_id>")
@requires("agent")
def attachment(number: int, attachment_id: int):
    """An attachment of this ticket's mail, always as a download with its stored type."""
    ticket = _ticket(number)
    att = (Attachment.select(Attachment).join(Message)
           .where((Attachment.id == attachment_id) & (Message.ticket == ticket.id)).first())
    if att is None:
        abort(404)  # another ticket's attachment is not found through this one
    if not att.stored:
        return render_template("error.html", title=_("Not stored"), message=_(
            "%(file)s was larger than the limit, so it stays only in the raw mail.", file=att.filename)), 404
    response = send_file(blob_path(_config().attachments_dir, att.sha256), mimetype=att.content_type or
                         "application/octet-stream", as_attachment=True, download_name=att.filename,
                         max_age=0, etag=False, conditional=False)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@blueprint.route("/tickets/<int:number>/messages/<int:message_id>/html")
@requires("agent")
def message_html(number: int, message_id: int):
    """A message's HTML, sanitised, as the document of a sandboxed frame on the ticket page."""
    ticket = _ticket(number)
    message = Message.get_or_none((Message.id == message_id) & (Message.ticket == ticket.id))
    if message is None or not message.body_html:
        abort(404)
    clean = sanitize_mail(message.body_html)
    page = mail_document(clean, list(Attachment.select().where(Attachment.message == message.id)),
                             _config().attachments_dir)
    response = current_app.response_class(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = mail_policy(images=request.args.get("images") == "1")
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response
