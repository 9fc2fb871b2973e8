"""`patroldesk tickets` and `reply`: reading tickets, and answering them from a reply template.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from daemon import tickets
from daemon.cli.root import App, cli, echo_more_exist, minute, parse_flag, pass_app, print_json, ticket_number
from daemon.errors import PatroldeskError
from daemon.knowledge import article_replies
from daemon.outbound import replies
from daemon.store.models import STATUSES, Attachment, Message, Ticket, User


@cli.group("tickets")
def tickets_group():
    """Read tickets."""


@tickets_group.command("list")
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per ticket, with its messages.")
@pass_app
def tickets_list(app: App, status, limit, as_json):
    """List tickets, newest first."""
    app.database()
    shown = tickets.list_tickets(status, limit)
    for ticket in shown:
        if as_json:
            print_json(tickets.ticket_detail(ticket))
        else:
            click.echo(f"#{ticket.number}  {ticket.status:<7}  {ticket.requester.email:<30}  {ticket.subject}")
    if not as_json and len(shown) == limit:
        echo_more_exist(Ticket.status, status, limit, "tickets")


@tickets_group.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="The ticket and its messages as JSON.")
@pass_app
def tickets_show(app: App, ref, as_json):
    """Show a ticket with its messages. REF is the number, with or without '#'."""
    app.database()
    ticket = tickets.get_ticket(ticket_number(ref))
    detail = tickets.ticket_detail(ticket)
    if as_json:
        print_json(detail)
        return
    click.echo(f"#{detail['ticket']}  {detail['subject']}\n"
               f"status {detail['status']}, requester {_person(detail['requester'])}"
               f"{_language_note(detail['requester'])}")
    if detail["claimed_ref"] is not None:
        click.echo(_claimed_ref_note(detail["claimed_ref"]))
    click.echo(_deadlines_line(detail))
    for message, attachments in zip(detail["messages"], _attachments_per_message(ticket)):
        _echo_message(message, attachments)
    if detail["suggestions"]:
        click.echo("\n--- articles that may answer it (kb show ID)")
        for row in detail["suggestions"]:
            click.echo(f"  {row['article']:>5}  {row['state']:<10} {row['title']}")
    if detail["articles"]:
        click.echo("--- linked articles: " + ", ".join(f"{a['article']} ({a['kind']})" for a in detail["articles"]))
    if detail["trail"]:
        click.echo("\n--- trail")
        for event in detail["trail"]:
            click.echo(_trail_line(event))


def _deadlines_line(detail: dict) -> str:
    """'priority normal; first answer due 2026-12-07 15:00 UTC, late; solved by ...' (times in UTC)."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat() + "Z"
    parts = []
    for name, shown in (("first_answer", "first answer"), ("resolution", "solving")):
        deadline = detail["deadlines"][name]
        if deadline["due"] is None:
            continue
        if deadline["met"] is not None:
            parts.append(f"{shown} {'late' if deadline['met'] > deadline['due'] else 'in time'}, "
                         f"due {minute(deadline['due'])}")
        else:
            parts.append(f"{shown} due {minute(deadline['due'])}" + (", LATE" if deadline["due"] < now else ""))
    group = f", group {detail['group']}" if detail["group"] else ""
    return f"priority {detail['priority']}{group}" + (f"; {'; '.join(parts)}" if parts else "")


def _trail_line(event: dict) -> str:
    who = event["actor"] or "system"
    said = event["detail"]
    reason = said.get("reason")
    rest = ", ".join(f"{key} {value}" for key, value in said.items() if key != "reason")
    text = f"{minute(event['at'])}  {who}: {event['action']}" + (f" ({rest})" if rest else "")
    return text + (f": {reason}" if reason else "")


def _language_note(requester: dict) -> str:
    """', writes in nb (set)': the customer's language and where it came from, when known."""
    if not requester.get("language"):
        return ""
    return f", writes in {requester['language']} ({requester['language_source'] or 'detected'})"


def _claimed_ref_note(number: int) -> str:
    """Why a mail tagged for ticket #N opened this ticket instead: only people on #N may add to it."""
    why = "which does not exist" if Ticket.by_number(number) is None else "but its sender was not on that ticket"
    return f"opened by a mail whose subject names ticket #{number}, {why}"


def _person(who: dict) -> str:
    return f"{who['name']} <{who['email']}>" if who["name"] else who["email"]


def _attachments_per_message(ticket: Ticket) -> list[list[Attachment]]:
    """Each message's attachment rows, in ticket_detail's message order (by id).

    ticket_detail gives names only; the text view also tells sizes and which
    files were too big to store.
    """
    ids = [m.id for m in Message.select(Message.id).where(Message.ticket == ticket).order_by(Message.id)]
    found: dict[int, list[Attachment]] = {}
    for att in Attachment.select().where(Attachment.message.in_(ids)).order_by(Attachment.id):
        found.setdefault(att.message_id, []).append(att)
    return [found.get(message_id, []) for message_id in ids]


def _echo_message(message: dict, attachments: list[Attachment]) -> None:
    how = f", threaded by {message['thread_signal']}" if message["thread_signal"] else ""
    how += f", in {message['language']}" if message.get("language") else ""
    auto = f", automatic ({message['automatic']})" if message["automatic"] else ""
    when = f", {message['date']}" if message["date"] else ""
    delivery = message.get("delivery")
    sent = ""
    if delivery:
        sent = f", {delivery['kind']} {delivery['state']} (outbox {delivery['outbox']})"
        if delivery["error"]:
            sent += f": {delivery['error']}"
    click.echo(f"\n--- {message['kind']} from {_person(message['sender'])}{when}{how}{auto}{sent}\n"
               f"Subject: {message['subject']}\n")
    click.echo(message["visible_text"])
    for att in attachments:
        kept = "" if att.stored else ", not stored: over the size limit; it is in the raw mail"
        click.echo(f"[attachment] {att.filename} ({_size(att.size)}{kept})")


def _size(count: int) -> str:
    """Bytes for people: 512 B, 14.2 KB, 30.0 MB (binary units, like the size limits)."""
    if count < 1024:
        return f"{count} B"
    for unit in ("KB", "MB", "GB"):
        count /= 1024
        if count < 1024 or unit == "GB":
            return f"{count:.1f} {unit}"


@cli.command("reply")
@click.argument("ref")
@click.option("--template", "name", required=True, metavar="NAME",
              help="A reply template: the team's own, else templates/mail/NAME.txt.j2.")
@click.option("--body", help="The agent's text, for templates that use {{ body }}.")
@click.option("--body-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read the agent's text from this UTF-8 file instead.")
@click.option("--preview", is_flag=True, help="Print the mail as it would go; queue nothing.")
@click.option("--language", metavar="CODE",
              help="Send the template's variant in this language instead of the customer's (en, nb, ru...).")
@click.option("--as", "username", metavar="USER", help="The agent who answers (their name signs the mail).")
@click.option("--flag", "flag_text", metavar="KIND[:DETAIL]",
              help="With a template made from an article: flag the article in the same step "
                   "(wrong, incomplete, outdated, ...), e.g. 'incomplete:no step for macOS'.")
@pass_app
def reply(app: App, ref, name, body, body_file, preview, language, username, flag_text):
    """Mail a ticket's requester from a reply template. REF is the ticket number.

    The mail is queued in the outbox and kept on the ticket; `patroldesk run`
    sends it, over [relay], or into var/sent/ without a relay. A template that
    fails to render is refused and nothing is queued.
    """
    if body is not None and body_file is not None:
        raise click.UsageError("give --body or --body-file, not both")
    text = _read_body_file(body_file) if body_file is not None else body or ""
    app.database()
    ticket = tickets.get_ticket(ticket_number(ref))
    agent = None
    if username:
        agent = User.get_or_none((User.username == username) & User.active)
        if agent is None:
            raise PatroldeskError(f"no active account {username!r} (see `patroldesk user add`)")
    if preview:
        rendered = replies.preview(app.config, name, ticket, agent=agent, body=text, language=language)
        click.echo(_variant_line(rendered.variant), err=True)
        _echo_rendered(rendered, replies.preview_headers(app.config, ticket, rendered))
        return
    queued = article_replies.reply(app.config, ticket, name, agent, body=text, flag=parse_flag(flag_text),
                                   language=language)
    written_in = f" (in {queued.language})" if queued.language else ""
    click.echo(f"queued outbox {queued.id} to {', '.join(json.loads(queued.recipients))}{written_in}: {queued.subject}")
    if queued.article_id:
        click.echo(f"ticket #{ticket.number} linked to article {queued.article_id}"
                   + (f"; flagged {flag_text.partition(':')[0]}" if flag_text else ""))


def _variant_line(variant) -> str:
    """Which language of the template goes, said before the mail (on standard error)."""
    if variant is None:
        return ""
    others = ", ".join(code or "base" for code, _ in variant.available if code != variant.language) or "none"
    chosen = variant.language or "the base text"
    whose = "the customer's language" if variant.theirs else f"the customer reads {variant.wanted}"
    return f"[{variant.source} template {variant.name!r} in {chosen}; {whose}; other variants: {others}]"


def _read_body_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PatroldeskError(f"{path}: not UTF-8 text") from None


def _echo_rendered(rendered: replies.Rendered, headers: list[tuple[str, str]] = ()) -> None:
    for name, value in headers:
        click.echo(f"{name}: {value}")
    if not headers:
        click.echo(f"Subject: {rendered.subject}")
    click.echo(f"\n{rendered.text}")
    if rendered.html is not None:
        click.echo(f"--- html ---\n{rendered.html}")
