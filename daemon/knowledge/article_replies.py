"""Reply templates made from knowledge articles, and replies that use them.

A validated (or published) article becomes a team reply template in one
step: it greets the customer in the article's language, gives the
resolution, and links the article where customers can read it. The
template remembers the article revision its text came from; a later change
of the article marks it for review (daemon.knowledge.articles). A reply from such a
template links the ticket to the article (a reuse, counted), may flag the
article in the same step, and the outbox row records the template revision
and article revision that produced the mail.
"""
from __future__ import annotations

from dataclasses import dataclass

from daemon import outbound
from daemon.config import Config
from daemon.errors import NotFound, PatroldeskError
from daemon.knowledge.articles import (
    CHECKED_STATES, REVIEWER_ROLES, NotAllowed, get_article, link as link_article, public_url, raise_flag,
)
from daemon.store.db import database
from daemon.store.models import Article, ReplyTemplate, Ticket, User, utcnow

_WORDING = {
    "en": ("Hello {{ customer.name }},", "Hello,", "You can read this again, with any later changes, here:",
           "Kind regards,"),
    "no": ("Hei {{ customer.name }},", "Hei,", "Du finner dette igjen, med eventuelle endringer, her:",
           "Vennlig hilsen"),
    "ru": ("Здравствуйте, {{ customer.name }}!", "Здравствуйте!",
           "Эту инструкцию, с последними изменениями, можно найти здесь:", "С уважением,"),
}


@dataclass(frozen=True)
class Flag:
    """What an agent says is wrong with the article they just used."""
    kind: str
    detail: str = ""


def template_from_article(config: Config, article: Article, user: User, name: str | None = None) -> ReplyTemplate:
    """Make (or remake) the reply template of a validated or published article."""
    article = get_article(article.id)
    if user.role not in REVIEWER_ROLES:
        raise NotAllowed(f"only a reviewer or an admin makes reply templates ({user.username} is {user.role})")
    if article.state not in CHECKED_STATES:
        raise NotAllowed(f"article {article.id} is {article.state}; a reply template is made from a validated "
                         f"or published article (kb validate {article.id})")
    name = name or f"kb-{article.id}"
    _refuse_taken_name(config, name, article)
    subject, text = template_source(article)
    with database.atomic():
        saved = outbound.save_template(config, name, subject, text, user=user)
        saved.article, saved.article_revision, saved.needs_review = article.id, article.revision, False
        saved.save()
    return saved


def _refuse_taken_name(config: Config, name: str, article: Article) -> None:
    """An article's template may replace only its own earlier version, never a built-in or another template."""
    stored = ReplyTemplate.get_or_none(ReplyTemplate.name == name)
    if stored is not None and stored.article_id != article.id:
        raise NotAllowed(f"the reply template {name!r} exists and was not made from article {article.id}; "
                         f"choose another name")
    if stored is None and (outbound.mail_templates_folder(config) / f"{name}.txt.j2").is_file():
        raise NotAllowed(f"{name!r} is a built-in template; choose another name")


def template_source(article: Article) -> tuple[str, str]:
    """The subject and text of an article's reply template, in the article's language."""
    named, plain, link_line, regards = _WORDING.get(article.language, _WORDING["en"])
    subject = 'Re: {{ ticket.subject or (article.title if article else "") }} {{ ticket.reference }}'
    text = (f"{{% if customer.name %}}\n{named}\n{{% else %}}\n{plain}\n{{% endif %}}\n\n"
            "{% if body %}\n{{ body|trim }}\n\n{% endif %}"
            f"{_literal(article.resolution)}\n\n"
            f"{{% if article and article.url %}}\n{link_line}\n{{{{ article.title }}}}\n{{{{ article.url }}}}\n\n{{% endif %}}"
            f"{regards}\n{{% if agent %}}\n{{{{ agent.name }}}}\n{{% endif %}}\n{{{{ support.name }}}}\n"
            "{{ ticket.reference }}\n")
    return subject, text


def _literal(text: str) -> str:
    """Text that Jinja prints as it is, whatever braces it holds."""
    if not any(mark in text for mark in ("{{", "{%", "{#")):
        return text
    if "endraw" not in text:
        return "{% raw %}" + text + "{% endraw %}"
    return text.replace("{", "{{ '{' }}")


# Mail the system sends on its own: an agent answering with one would confuse the customer.
NOT_FOR_REPLIES = ("acknowledgement", "solved", "patrol_digest")


def system_templates(config: Config) -> tuple[str, ...]:
    """The templates of mail the system sends on its own, the configured acknowledgement among them."""
    return (*NOT_FOR_REPLIES, config.autoreply.acknowledgement_template)


def reply_templates(config: Config) -> list[str]:
    """The templates a person may answer with: the built-in reply, then the team's own."""
    refused = system_templates(config)
    stored = [name for (name,) in ReplyTemplate.select(ReplyTemplate.name).order_by(ReplyTemplate.name).tuples()]
    return ["reply", *[name for name in stored if name not in refused and name != "reply"]]


def reply(config: Config, ticket: Ticket, name: str, agent: User | None, body: str = "", flag: Flag | None = None,
          language: str | None = None):
    """Send reply template `name` to the ticket's requester; a template made from an article also links
    the ticket to it (and raises `flag` on it). One transaction: nothing of it happens without the rest."""
    if name in system_templates(config):
        raise PatroldeskError(f"{name!r} is mail the system sends on its own; answer with 'reply' or a team template")
    stored = ReplyTemplate.get_or_none(ReplyTemplate.name == name)
    article = Article.get_or_none(Article.id == stored.article_id) if stored and stored.article_id else None
    if flag is not None and article is None:
        raise NotFound(f"template {name!r} was not made from an article, so there is no article to flag")
    provenance = {}
    shown = None
    if stored and stored.article_id and article is None:
        raise NotFound(f"template {name!r} was made from an article that no longer exists; a reviewer retires it")
    if article is not None and article.state not in CHECKED_STATES:
        raise NotAllowed(f"template {name!r} was made from article {article.id}, which is now {article.state}; "
                         f"a reviewer looks at it again (kb flags)")
    if article is not None:
        provenance.update(article=article.id, article_revision=stored.article_revision)
        shown = outbound.TemplateArticle(title=article.title, url=public_url(config, article))
    with database.atomic():
        queued = outbound.send_templated(config, ticket, name, kind="reply", agent=agent, body=body, article=shown,
                                        provenance=provenance, language=language)
        if article is not None:
            link_article(article, ticket, "reply", agent)
            if flag is not None:
                raise_flag(article, flag.kind, agent, detail=flag.detail, ticket=ticket)
    return queued


def stale_templates() -> list[ReplyTemplate]:
    """Templates whose article changed since they were made: the reviewers look at them again."""
    return list(ReplyTemplate.select().where(ReplyTemplate.needs_review).order_by(ReplyTemplate.name))


def mark_reviewed(template: ReplyTemplate, user: User) -> ReplyTemplate:
    """The reviewer checked the template against the article's current text (or remade it)."""
    if user.role not in REVIEWER_ROLES:
        raise NotAllowed("only a reviewer or an admin marks a template reviewed")
    article = Article.get_by_id(template.article_id)
    template.needs_review, template.article_revision, template.updated_at = False, article.revision, utcnow()
    template.save()
    return template
