"""Reply templates: the words patroldesk mails to customers, as Jinja2 templates.

Built-in templates are files in templates/mail (its README gives the format);
a team's own are ReplyTemplate rows, written from the console, and win over a
file of the same name. The people who write templates are not the people who
run the server, so every template renders in Jinja2's sandbox with strict
variables: one that names an unknown variable, reaches for Python's
internals, includes another template or fails to render is refused with its
name, line and reason, when it is saved and again whenever it is used.
Every render has a budget of time and of characters written ([templates]):
a template is tried on several unlike sample tickets before it is saved, and
a render that goes past the budget is cut off and refused. The subject
always comes out as one line, so no template (and no customer's text inside
one) can add a header to the mail.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
import traceback
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jinja2 import FileSystemLoader, StrictUndefined, Template, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from daemon import tickets
from daemon.config import Config
from daemon.errors import NoReplyAddress, NotFound, PatroldeskError
from daemon.languages import DETECTED, N_, Text, normalise
from daemon.mail.language import detect
from daemon.outbound.localised import FILTERS, writing_in
from daemon.outbound.outbox import queue_ticket_mail
from daemon.outbound.budget import Budget, BudgetedEnvironment, BudgetExceeded, Meter, instrument, stream
from daemon.outbound.compose import Draft, one_line, tagged_subject, topic
from daemon.outbound.variants import BASE_LANGUAGE, TEAM, Variant, builtin_names, choose, file_of  # noqa: F401
from daemon.store import db
from daemon.store.db import database
from daemon.store.models import Customer, ReplyTemplate, Ticket, User, utcnow

# What a template can use, for the console's help: top-level names and their attributes.
CONTEXT_VARIABLES: dict[str, str] = {
    "customer": N_("the ticket's requester"),
    "customer.name": N_("their name as their mail gave it; may be empty"),
    "customer.email": N_("their address"),
    "ticket": N_("the ticket the mail is about"),
    "ticket.number": N_("its number, e.g. 10001"),
    "ticket.subject": N_("its subject as the customer wrote it, without Re:/Sv: prefixes and ticket tags; "
                         "may be empty"),
    "ticket.status": N_("new, open, pending, solved or closed"),
    "ticket.reference": N_("the tag that threads replies, e.g. [#10001] (threading.tag_format)"),
    "agent": N_("the agent who writes; None in automatic mail, so test it: {% if agent %}"),
    "agent.name": N_("their name, or their username when they have not given one"),
    "agent.username": N_("their login name"),
    "article": N_("a knowledge article the mail points to, or None: {% if article %}"),
    "article.title": N_("its title"),
    "article.url": N_("where customers can read it; empty when it has no public address"),
    "support": N_("the support team"),
    "support.address": N_("the address the customer wrote to (support.addresses in the configuration)"),
    "support.name": N_("the team's name (support.name in the configuration)"),
    "now": N_("the time of rendering, an aware UTC datetime: {{ now.strftime('%Y-%m-%d') }}"),
    "body": N_("the text the agent wrote (the reply template), or the outcome the customer is told "
               "(the solved notice); empty in other mail"),
}


def _refused(name: str, reason: str, line: int | None, part: Text | None) -> Text:
    """'template 'x' subject line 2: why', said whole so that it can be said in other languages."""
    if part and line is not None:
        return N_("template %(name)r %(part)s line %(line)s: %(reason)s", name=name, part=part, line=line,
                  reason=reason)
    if part:
        return N_("template %(name)r %(part)s: %(reason)s", name=name, part=part, reason=reason)
    if line is not None:
        return N_("template %(name)r line %(line)s: %(reason)s", name=name, line=line, reason=reason)
    return N_("template %(name)r: %(reason)s", name=name, reason=reason)


_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Unicode categories that could end a header line or hide in one: controls, surrogates, line and paragraph separators.
_REACHES_OTHER_TEMPLATES = (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)


class TemplateRefused(PatroldeskError):
    """A template that may not be used; the message names it, the line and the reason.

    `part` is subject, text or html ("" for a bad name); `line` counts from
    the top of the file for built-ins and of the field for a team's own
    templates, None when the fault has no line.
    """

    def __init__(self, name: str, reason: str, line: int | None = None, part: str = "text"):
        self.name, self.reason, self.line, self.part = name, reason, line, part
        super().__init__(_refused(name, reason, line, Text(part) if part in ("subject", "html") else None))


@dataclass(frozen=True)
class Rendered:
    """A rendered mail: a one-line subject, the plain text and, where the template has one, HTML."""
    subject: str
    text: str
    html: str | None
    revision: int | None = None  # of a team's stored template (None: a built-in file)
    language: str = ""  # what it is written in ("" : a team's base text, in no language we could tell)
    variant: Variant | None = None  # which language of the template was chosen, and what else there was


# The context's objects: plain values only, so a template sees no model, query or database handle.

@dataclass(frozen=True)
class TemplateCustomer:
    name: str
    email: str


@dataclass(frozen=True)
class TemplateTicket:
    number: int | None
    subject: str
    status: str
    reference: str


@dataclass(frozen=True)
class TemplateAgent:
    name: str
    username: str


@dataclass(frozen=True)
class TemplateArticle:
    title: str
    url: str


@dataclass(frozen=True)
class TemplateSupport:
    address: str
    name: str


@dataclass(frozen=True)
class _Part:
    """One piece of a template as written, and the line of its file or field it starts on."""
    kind: str  # subject, text, html
    source: str
    first_line: int = 1


def ticket_reference(config: Config, number: int | None) -> str:
    """The tag a reply keeps in its subject to reach the same ticket, e.g. [#10001]."""
    return "" if number is None else config.threading.tag_format.format(ref=number)


def template_context(config: Config, ticket: Ticket, customer: Customer, agent: User | None = None,
                     article=None, support_address: str | None = None, body: str = "") -> dict:
    """The variables of CONTEXT_VARIABLES for a mail about `ticket`.

    `article` is anything with a `title` and a `url` (None: no article).
    `support_address` defaults to the address the ticket came in on.
    """
    return {
        "customer": TemplateCustomer(name=customer.name or "", email=customer.email or ""),
        "ticket": TemplateTicket(number=ticket.number, subject=topic(ticket.subject or "", config.threading.tag_format),
                                 status=ticket.status or "", reference=ticket_reference(config, ticket.number)),
        "agent": _template_agent(agent),
        "article": _template_article(article),
        "support": TemplateSupport(address=support_address or ticket.support_address or config.support.addresses[0],
                                   name=config.support.name),
        "now": dt.datetime.now(dt.timezone.utc),
        "body": body or "",
    }


def _template_agent(agent: User | None) -> TemplateAgent | None:
    if agent is None:
        return None
    return TemplateAgent(name=agent.name or agent.username or "", username=agent.username or "")


def _template_article(article) -> TemplateArticle | None:
    if article is None:
        return None
    return TemplateArticle(title=getattr(article, "title", "") or "", url=getattr(article, "url", "") or "")


def sample_context(config: Config) -> dict:
    """Every variable set, in the scripts real customers write in, to try a template on before it is saved."""
    return sample_contexts(config)[0][1]


def sample_contexts(config: Config) -> list[tuple[str, dict]]:
    """Unlike sample tickets, each with what it is: a template must render within budget for all of them
    (numbers, languages, empty and long fields, statuses, several messages quoted in a body)."""
    first = config.threading.first_number
    support = TemplateSupport(address=config.support.addresses[0], name=config.support.name)
    now = dt.datetime.now(dt.timezone.utc)

    def ticket(number: int, subject: str, status: str) -> TemplateTicket:
        return TemplateTicket(number=number, subject=subject, status=status,
                              reference=ticket_reference(config, number))

    thread = "\n\n".join(f"> {line}" for line in _SAMPLE_LINES) + "\n"
    return [
        ("a Norwegian customer's ticket in Russian", {
            "customer": TemplateCustomer(name="Åse Ødegård", email="ase.odegard@example.no"),
            "ticket": ticket(first, "Не печатает принтер на третьем этаже", "open"),
            "agent": TemplateAgent(name="Kari Nordmann", username="kari"),
            "article": TemplateArticle(title="Skriveren skriver ikke ut: slik løser du det",
                                       url="https://kb.example.no/articles/42"),
            "support": support, "now": now,
            "body": "Hei Åse,\n\nПринтер снова печатает: we replaced the fuser unit.\n"}),
        ("an English ticket with no name, subject, agent, article or body", {
            "customer": TemplateCustomer(name="", email="j@example.org"),
            "ticket": ticket(first + 1, "", "new"), "agent": None, "article": None,
            "support": support, "now": now, "body": ""}),
        ("a ticket with long fields and several messages", {
            "customer": TemplateCustomer(name="Константин " * 18, email="k" * 60 + "@example.ru"),
            "ticket": ticket(first + 987_654, ("Printer on the third floor prints blank pages again " * 40)[:2000],
                             "pending"),
            "agent": TemplateAgent(name="Ola " * 50, username="ola"),
            "article": TemplateArticle(title="Blank pages " * 20, url="https://kb.example.no/articles/" + "9" * 200),
            "support": support, "now": now, "body": ("Hei,\n\n" + thread) * 40}),
        ("a closed ticket with markup in its fields", {
            "customer": TemplateCustomer(name='"Nils <b>O\'Hara</b>" & {{ co }}', email="nils@example.no"),
            "ticket": ticket(1, "<script>alert(1)</script> {% raw %} 100% & «ok»", "closed"),
            "agent": TemplateAgent(name="kari", username="kari"), "article": None, "support": support,
            "now": dt.datetime(2024, 2, 29, 23, 59, 59, tzinfo=dt.timezone.utc),
            "body": "<p>Løst.</p>\n\n-- \nKari\n"}),
        ("a solved ticket with a large number", {
            "customer": TemplateCustomer(name="Ингрид", email="ingrid@example.com"),
            "ticket": ticket(first + 4_000_000, "Faktura for mars: «beløpet stemmer ikke»", "solved"),
            "agent": TemplateAgent(name="Per Hansen", username="per"), "article": None, "support": support,
            "now": now, "body": "Fakturaen er sendt på nytt.\n"}),
    ]


# Lines of an earlier exchange, quoted in the long sample's body.
_SAMPLE_LINES = ("Den 3. mars skrev Åse: skriveren skriver ut blanke ark.",
                 "On 4 March, Support wrote: we have ordered a new fuser unit.",
                 "4 марта Асе написала: спасибо, жду.")


def mail_templates_folder(config: Config) -> Path:
    """Where the built-in reply templates live: mail/ in the templates folder the console uses too."""
    return config.templates_dir / "mail"


def render(config: Config, name: str, context: dict, wanted: str = "", picked: str | None = None) -> Rendered:
    """The mail template `name` makes of `context`, in the variant for a reader of `wanted` (default:
    [support] default_language), or the variant a person `picked`: the team's own template if there
    is one, else the built-in (daemon.outbound.variants says which language goes).

    Raises NotFound for a name no template has, TemplateRefused for a template that fails.
    """
    if not _NAME.fullmatch(name):
        raise NotFound(f"no reply template named {name!r}: names are letters, digits, - and _")
    # Hand-written: every new ticket's acknowledgement asks, inside the ingest transaction.
    stored = {row[0]: row[1:] for row in db.execute(
        'SELECT "language", "subject", "text", "html", "revision" FROM "reply_template" WHERE "name" = ?',
        (name,)).fetchall()}
    folder = mail_templates_folder(config)
    default = config.support.default_language
    chosen = choose(name, wanted or default, default, folder, picked, team=sorted(stored))
    if chosen is None:
        raise NotFound(f"no reply template named {name!r}: none in the database, and no {name}.txt.j2 in {folder}")
    label = f"{name}.{chosen.language}" if chosen.language and chosen.language != BASE_LANGUAGE else name
    if chosen.source == TEAM:
        subject, text, html, revision = stored[chosen.language]
        rendered = _render_parts(label, _stored_parts(subject, text, html), context, None, render_budget(config),
                                 chosen.language or default)
        rendered = dataclasses.replace(rendered, revision=revision)
    else:
        parts = builtin_parts(name, folder, chosen.language)
        rendered = _render_parts(label, parts, context, folder, render_budget(config), chosen.language)
    return dataclasses.replace(rendered, language=chosen.language or _written_in(rendered.text), variant=chosen)


def variant_for(config: Config, name: str, ticket: Ticket, picked: str | None = None) -> Variant | None:
    """Which language of template `name` would go to the ticket's requester (None: no such template)."""
    if not _NAME.fullmatch(name):
        return None
    default = config.support.default_language
    return choose(name, tickets.writing_language(config, ticket.requester), default,
                           mail_templates_folder(config), picked)


def _written_in(text: str) -> str:
    """The language a team's base text turned out to be in, when the detector is sure of it."""
    found = detect(text)
    return found.language if found is not None and found.confident else ""


def render_budget(config: Config) -> Budget:
    """What one render may spend ([templates])."""
    return Budget(milliseconds=config.templates.render_milliseconds, kilobytes=config.templates.render_kilobytes)


def preview(config: Config, name: str, ticket: Ticket, agent: User | None = None, body: str = "",
            language: str | None = None) -> Rendered:
    """What template `name` would send to this ticket's requester (in the variant `language` when
    given and there is one); nothing is stored or queued."""
    return render(config, name, template_context(config, ticket, ticket.requester, agent=agent, body=body),
                  tickets.writing_language(config, ticket.requester), picked=language)


def preview_headers(config: Config, ticket: Ticket, rendered: Rendered) -> list[tuple[str, str]]:
    """The headers the mail would go with (From, To, Subject as tagged, the threading ones)."""
    answered, thread = _thread_of(ticket)
    customer = ticket.requester
    subject = tagged_subject(rendered.subject, ticket.number, config.threading.tag_format, reply=answered is not None)
    headers = [("From", f"{config.support.name} <{ticket.support_address or config.support.addresses[0]}>"),
               ("To", f"{customer.name} <{customer.email}>" if customer.name else customer.email),
               ("Subject", subject)]
    if answered:
        headers.append(("In-Reply-To", f"<{answered}>"))
        headers.append(("References", " ".join(f"<{mid}>" for mid in (*thread, answered)[-20:])))
    return headers


def check(config: Config, name: str, subject: str, text: str, html: str | None = None, language: str = "") -> None:
    """Refuse a team's template before it is saved: a bad name or language, an empty part, or any fault
    (or render past the budget) found rendering it for each of the sample tickets."""
    _refuse_bad_name(name)
    if language and language not in DETECTED:
        raise TemplateRefused(name, f"{language!r} is not a language patroldesk knows: one of {', '.join(DETECTED)}",
                              part="language")
    if not subject.strip():
        raise TemplateRefused(name, N_("the subject is empty"), part="subject")
    if not text.strip():
        raise TemplateRefused(name, N_("the text is empty"))
    parts = _stored_parts(subject, text, html)
    for tried, (described, context) in enumerate(sample_contexts(config)):
        try:
            _render_parts(name, parts, context, None, render_budget(config),
                          language or config.support.default_language)
        except TemplateRefused as refused:
            if not tried:
                raise
            raise TemplateRefused(name, N_("%(reason)s (rendered for %(sample)s)", reason=refused.reason,
                                           sample=described), refused.line, refused.part) from None


def save_template(config: Config, name: str, subject: str, text: str, html: str | None = None,
                  user: User | None = None, language: str = "") -> ReplyTemplate:
    """Check a team's template, then store it under `name`, replacing the one of that name: its base
    text, or with `language` its variant for readers of that language."""
    html = html if html and html.strip() else None  # an empty HTML field means a text-only mail
    language = normalise(language)
    check(config, name, subject, text, html, language)
    with database.atomic():
        stored = ReplyTemplate.get_or_none((ReplyTemplate.name == name) & (ReplyTemplate.language == language))
        if stored is None:
            return ReplyTemplate.create(name=name, language=language, subject=subject, text=text, html=html,
                                        updated_by=user)
        stored.subject, stored.text, stored.html = subject, text, html
        stored.updated_at, stored.updated_by, stored.revision = utcnow(), user, stored.revision + 1
        stored.save()
        return stored


def _refuse_bad_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise TemplateRefused(name, N_("a name is 1 to 64 letters, digits, - or _"), part="")


def _stored_parts(subject: str, text: str, html: str | None) -> list[_Part]:
    parts = [_Part("subject", subject), _Part("text", text)]
    if html is not None:
        parts.append(_Part("html", html))
    return parts


def builtin_parts(name: str, folder: Path, language: str = "") -> list[_Part] | None:
    """The parts of a built-in template (in `language`: "" is the base file), or None when there is no
    such file. A language's HTML comes from its own file only: a mail never mixes two languages."""
    text_file = file_of(name, language, folder)
    if not text_file.is_file():
        return None
    subject, text = _split_subject_line(name, text_file.read_text(encoding="utf-8"))
    parts = [_Part("subject", subject), _Part("text", text, first_line=3)]
    html_file = file_of(name, language, folder, "html")
    if html_file.is_file():
        parts.append(_Part("html", html_file.read_text(encoding="utf-8")))
    return parts


def _split_subject_line(name: str, source: str) -> tuple[str, str]:
    """A built-in's text file opens with `Subject: ...` and a blank line; the rest is the text."""
    first, newline, rest = source.partition("\n")
    blank, newline_too, text = rest.partition("\n")
    if not first.lower().startswith("subject:") or not newline or not newline_too or blank.strip():
        raise TemplateRefused(name, N_("the file must open with a 'Subject: ...' line and a blank line"), line=1)
    return first[len("subject:"):].strip(), text


def _render_parts(name: str, parts: list[_Part], context: dict, folder: Path | None, budget: Budget,
                  language: str = BASE_LANGUAGE) -> Rendered:
    """Render each part within one budget, dates and numbers written for readers of `language`;
    `folder` is the built-ins' folder, None for a team's template (no includes)."""
    meter = Meter(budget)
    with writing_in(language):
        rendered = {part.kind: _render_part(name, part, context, folder, meter) for part in parts}
    return Rendered(subject=one_line(rendered["subject"]), text=rendered["text"], html=rendered.get("html"))


def _render_part(name: str, part: _Part, context: dict, folder: Path | None, meter: Meter) -> str:
    template = _compiled(str(folder) if folder else None, name, part, frozenset(context))
    try:
        return stream(template, context, meter)
    except BudgetExceeded as exc:
        raise _refusal(name, part, _failing_line(exc, template), str(exc)) from None
    except SecurityError as exc:
        raise _refusal(name, part, _failing_line(exc, template), N_("not allowed in a template (%(problem)s)",
                                                                             problem=str(exc))) from None
    except UndefinedError as exc:
        raise _refusal(name, part, _failing_line(exc, template), str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - whatever a template's expression raises, the template is at fault
        raise _refusal(name, part, _failing_line(exc, template), f"{type(exc).__name__}: {exc}") from None


@lru_cache(maxsize=16)
def _environment(folder: str | None, html: bool) -> SandboxedEnvironment:
    """Sandboxed, budgeted and strict, escaping only HTML; only built-ins (with a folder) may include other
    files. Dates and numbers have Babel's filters (daemon.outbound.localised)."""
    environment = BudgetedEnvironment(
        loader=FileSystemLoader(folder) if folder else None,
        undefined=StrictUndefined, autoescape=html, finalize=_none_as_empty,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    environment.add_filters(FILTERS)
    return environment


def _none_as_empty(value):
    """A customer must never read 'None' where a value is missing."""
    return "" if value is None else value


@lru_cache(maxsize=256)
def _compiled(folder: str | None, name: str, part: _Part, known: frozenset) -> Template:
    """A part, checked and compiled once for as long as its text stays the same (every new
    ticket's acknowledgement renders the same template; compiling it is most of the cost).
    A refusal is not cached: it raises, and the next use checks again."""
    return _compile(_environment(folder, html=part.kind == "html"), name, part, known)


def _compile(environment: SandboxedEnvironment, name: str, part: _Part, known: frozenset) -> Template:
    """Parse a part and refuse, before it runs, what the sandbox would refuse only on the branch taken."""
    try:
        tree = environment.parse(part.source)
    except TemplateSyntaxError as exc:
        raise _refusal(name, part, exc.lineno, exc.message or str(exc)) from None
    reaching_out = next(tree.find_all(_REACHES_OTHER_TEMPLATES), None) if environment.loader is None else None
    if reaching_out is not None:
        raise _refusal(name, part, reaching_out.lineno,
                       N_("a team's template cannot include, import or extend templates"))
    internal = _first_internal_name(tree)
    if internal:
        line, key = internal
        raise _refusal(name, part, line, N_("%(key)r belongs to Python's internals, which templates may not reach",
                                            key=key))
    unknown = _first_unknown_name(tree, set(known) | set(environment.globals))
    if unknown:
        line, variable = unknown
        raise _refusal(name, part, line, N_("%(name)r is undefined", name=variable))
    return environment.from_string(instrument(tree))


def _first_internal_name(tree: nodes.Template) -> tuple[int, str] | None:
    """(line, name) of the first attribute or item named with a leading underscore, spelled out in the template."""
    found = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        if isinstance(node, nodes.Getattr):
            key = node.attr
        elif isinstance(node, nodes.Getitem):
            key = node.arg.value if isinstance(node.arg, nodes.Const) else None
        else:  # the attr filter: {{ x|attr('__class__') }}
            key = node.args[0].value if node.name == "attr" and node.args and isinstance(node.args[0], nodes.Const) \
                else None
        if isinstance(key, str) and key.startswith("_"):
            found.append((node.lineno, key))
    return min(found) if found else None


def _first_unknown_name(tree: nodes.Template, known: set[str]) -> tuple[int, str] | None:
    """(line, name) of the first variable neither known nor set anywhere in the template.

    Catches a misspelt name in a branch the sample context does not take; a
    name the template sets somewhere is left to the render to judge.
    """
    assigned = {node.name for node in tree.find_all(nodes.Name) if node.ctx != "load"}
    unknown = meta.find_undeclared_variables(tree) - known - assigned
    uses = [(node.lineno, node.name) for node in tree.find_all(nodes.Name) if node.name in unknown]
    return min(uses) if uses else None


def _failing_line(exc: BaseException, template: Template) -> int | None:
    """The template line that was running when `exc` was raised (Jinja maps its frames to template lines)."""
    lines = [line for frame, line in traceback.walk_tb(exc.__traceback__)
             if frame.f_code.co_filename == template.filename]
    return lines[-1] if lines else None


def _refusal(name: str, part: _Part, line: int | None, reason: str) -> TemplateRefused:
    file_line = None if line is None else part.first_line - 1 + line
    return TemplateRefused(name, reason, line=file_line, part=part.kind)


def send_templated(config: Config, ticket: Ticket, name: str, kind: str, agent: User | None = None,
                   body: str = "", automatic: bool = False, article=None, provenance: dict | None = None,
                   language: str | None = None):
    """Render template `name` for the ticket's requester and queue it, answering the ticket's
    latest inbound mail: the one way a template becomes mail. Refuses (TemplateRefused)
    before anything is written when the template does not render. `article` is what the
    template's `article` shows; `provenance` (template_revision, article, article_revision)
    is recorded on the outbox row. The customer's language chooses the template's variant, unless
    the agent picked one (`language`). Raises NoReplyAddress when the ticket has no address to answer."""
    refusal = tickets.reply_refusal(ticket)
    if refusal:
        raise NoReplyAddress(N_("ticket #%(number)s has %(problem)s; nothing can be sent to it", number=ticket.number,
                                problem=refusal))
    draft, revision = templated_draft(config, ticket, name, agent=agent, body=body, automatic=automatic,
                                      article=article, language=language)
    provenance = {"template_revision": revision, **(provenance or {})}
    if kind != "reply" or automatic:  # queue_ticket_mail is one transaction of its own
        return queue_ticket_mail(config, ticket, draft, kind, author=agent, template=name, **provenance)
    with database.atomic():  # a person answered: the mail, and a new ticket now being worked on
        queued = queue_ticket_mail(config, ticket, draft, kind, author=agent, template=name, **provenance)
        opened = Ticket.update(status="open", updated_at=utcnow()).where(
            (Ticket.id == ticket.id) & (Ticket.status == "new")).execute()
        Ticket.update(first_response_at=utcnow()).where(
            (Ticket.id == ticket.id) & Ticket.first_response_at.is_null()).execute()
        tickets.audit(ticket, "replied", {"outbox": queued.id, "template": name,
                                          **({"status": "new -> open"} if opened else {})}, actor=agent)
    return queued


def templated_draft(config: Config, ticket: Ticket, name: str, agent: User | None = None, body: str = "",
                    automatic: bool = False, article=None, language: str | None = None) -> tuple[Draft, int | None]:
    """The mail template `name` makes for the ticket's requester, in their language's variant (or the
    variant `language`), and the template's revision; writes nothing (TemplateRefused, NotFound as `render`)."""
    customer = ticket.requester
    rendered = render(config, name, template_context(config, ticket, customer, agent=agent, body=body,
                                                     article=article),
                      tickets.writing_language(config, customer), picked=language)
    answered, thread = _thread_of(ticket)
    sender = ticket.support_address or config.support.addresses[0]
    draft = Draft(ticket_number=ticket.number, to=(customer.name or "", customer.email),
                  sender=(config.support.name, sender), subject=rendered.subject, text=rendered.text,
                  html=rendered.html, in_reply_to=answered, references=thread, automatic=automatic,
                  language=rendered.language)
    return draft, rendered.revision


def _thread_of(ticket: Ticket) -> tuple[str | None, tuple[str, ...]]:
    """The latest inbound Message-ID of the ticket and the thread's ids before it, oldest first."""
    rows = db.execute('SELECT "message_id", "refs", "kind" FROM "message" WHERE "ticket_id" = ? '
                      'AND "message_id" IS NOT NULL ORDER BY "id"', (ticket.id,)).fetchall()
    inbound = [row for row in rows if row[2] == "inbound"]
    if not inbound:
        return None, ()
    latest_id, latest_refs, _ = inbound[-1]
    earlier = [*latest_refs.split(), *(row[0] for row in rows if row[0] != latest_id)]
    return latest_id, tuple(dict.fromkeys(mid for mid in earlier if mid != latest_id))
