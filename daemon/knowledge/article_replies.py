"""Reply templates made from knowledge articles, and replies that use them, in the customer's language.

A validated (or published) variant of an article becomes a team reply
template in one step: the template kb-ID has a variant per language of the
article (daemon.outbound chooses among them by the customer's language), each
greeting the customer in its language, giving the resolution, and linking
the article where customers can read it. A template remembers the article
revision its text came from; a later change of that variant marks it for
review (daemon.knowledge.articles). When the article has no checked variant
in the customer's language, the closest one is offered and said to be
another language (VariantChoice), so the agent is warned before anything
goes. A reply from such a template links the ticket to the article (a reuse,
counted), may flag the article in the same step, and the outbox row records
the template revision and article revision that produced the mail.
"""
from __future__ import annotations

from dataclasses import dataclass

from daemon import outbound, tickets
from daemon.config import Config
from daemon.errors import NotFound, PatroldeskError
from daemon.knowledge.articles import (
    CHECKED_STATES, REVIEWER_ROLES, NotAllowed, get_article, latest_revision, link as link_article, public_url,
    raise_flag,
)
from daemon.languages import NEIGHBOURS, N_, Text, choices, normalise
from daemon.languages import name as language_name
from daemon.store.db import database
from daemon.store.models import Article, ArticleVariant, ReplyTemplate, Ticket, User, utcnow

# (greeting with a name, without, the line before the article's address, the closing) per language.
_WORDING = {
    "en": ("Hello {{ customer.name }},", "Hello,", "You can read this again, with any later changes, here:",
           "Kind regards,"),
    "nb": ("Hei {{ customer.name }},", "Hei,", "Du finner dette igjen, med eventuelle endringer, her:",
           "Vennlig hilsen"),
    "nn": ("Hei {{ customer.name }},", "Hei,", "Du finn dette att, med eventuelle endringar, her:",
           "Venleg helsing"),
    "sv": ("Hej {{ customer.name }},", "Hej,", "Du hittar detta igen, med eventuella ändringar, här:",
           "Vänliga hälsningar"),
    "da": ("Hej {{ customer.name }},", "Hej,", "Du kan finde dette igen, med eventuelle ændringer, her:",
           "Venlig hilsen"),
    "de": ("Hallo {{ customer.name }},", "Hallo,",
           "Diese Anleitung finden Sie, mit allen späteren Änderungen, auch hier:", "Mit freundlichen Grüßen"),
    "fr": ("Bonjour {{ customer.name }},", "Bonjour,",
           "Vous retrouverez ces explications, avec leurs mises à jour, ici :", "Cordialement,"),
    "ru": ("Здравствуйте, {{ customer.name }}!", "Здравствуйте!",
           "Эту инструкцию, с последними изменениями, можно найти здесь:", "С уважением,"),
    "uk": ("Добрий день, {{ customer.name }}!", "Добрий день!",
           "Цю інструкцію, з останніми змінами, можна знайти тут:", "З повагою,"),
}


@dataclass(frozen=True)
class Flag:
    """What an agent says is wrong with the article they just used."""
    kind: str
    detail: str = ""


@dataclass(frozen=True)
class VariantChoice:
    """The variant of an article a reader of `wanted` gets; `theirs` is False when it is another language
    (the closest the article has), which the agent is told before it goes."""
    variant: ArticleVariant
    wanted: str
    theirs: bool

    @property
    def language(self) -> str:
        return self.variant.language

    def warning(self, in_language: str = "en") -> str:
        """What the agent is told when the customer does not get their own language ('' when they do)."""
        if self.theirs:
            return ""
        return (f"article {self.variant.article_id} has no checked {language_name(self.wanted, in_language)} "
                f"variant: the closest is {language_name(self.language, in_language)}")


def choose_variant(config: Config, article: Article, wanted: str, states: tuple[str, ...] = CHECKED_STATES,
                   among=None) -> VariantChoice | None:
    """The article's variant in `states` (and `among` these languages, when given) for a reader of
    `wanted`: theirs, else a neighbour they read, else the installation's default language, else English,
    else the furthest along; None when the article has no such variant."""
    variants = {v.language: v for v in article.variant_list
                if v.state in states and (among is None or v.language in among)}
    if not variants:
        return None
    wanted = normalise(wanted) or config.support.default_language
    found = choices(wanted, list(variants), config.support.default_language)
    chosen = variants[found[0]] if found else next(iter(variants.values()))
    return VariantChoice(chosen, wanted, chosen.language in (wanted, *NEIGHBOURS.get(wanted, ())))


def told_article(config: Config, article: Article | None, customer) -> outbound.TemplateArticle | None:
    """The article a mail to `customer` may name: its published variant in their language (else the
    closest published one), with its public address; None when no variant of it is published."""
    if article is None or not config.knowledge.public_url:
        return None
    choice = choose_variant(config, get_article(article.id), tickets.writing_language(config, customer),
                            states=("published",))
    if choice is None:
        return None
    return outbound.TemplateArticle(title=choice.variant.title, url=public_url(config, article, choice.language))


def template_name(article: Article) -> str:
    return f"kb-{article.id}"


def template_from_article(config: Config, article: Article, user: User, name: str | None = None,
                          language: str | None = None) -> ReplyTemplate:
    """Make (or remake) the reply template's variant from the article's validated or published variant in
    `language` (None: its only checked variant, or the furthest along)."""
    article = get_article(article.id)
    if user.role not in REVIEWER_ROLES:
        raise NotAllowed(N_("only a reviewer or an admin makes reply templates (%(user)s is %(role)s)",
                            user=user.username, role=Text(user.role)))
    checked = [v for v in article.variant_list if v.state in CHECKED_STATES]
    variant = article.variant(normalise(language)) if language else (checked[0] if checked else None)
    if language and variant is None:
        raise NotFound(N_("article %(id)s has no %(language)s variant (it has %(languages)s)", id=article.id,
                          language=normalise(language), languages=", ".join(article.languages)))
    if variant is None or variant.state not in CHECKED_STATES:
        state = variant.state if variant is not None else article.state
        if variant and language:
            raise NotAllowed(N_("article %(id)s (%(language)s) is %(state)s; a reply template is made from a "
                                "validated or published article (kb validate %(id)s)", id=article.id,
                                language=variant.language, state=Text(state)))
        raise NotAllowed(N_("article %(id)s is %(state)s; a reply template is made from a validated or published "
                            "article (kb validate %(id)s)", id=article.id, state=Text(state)))
    name = name or template_name(article)
    _refuse_taken_name(config, name, article)
    subject, text = template_source(article, variant.language)
    with database.atomic():
        saved = outbound.save_template(config, name, subject, text, user=user, language=variant.language)
        saved.article, saved.needs_review = article.id, False
        saved.article_revision = latest_revision(article, variant.language)
        saved.save()
    return saved


def templates_from_article(config: Config, article: Article, user: User,
                           name: str | None = None) -> list[ReplyTemplate]:
    """The reply template made (or remade) from every checked variant of the article, one per language."""
    article = get_article(article.id)
    checked = [v.language for v in article.variant_list if v.state in CHECKED_STATES]
    if not checked:
        return [template_from_article(config, article, user, name)]  # refused, with the reason
    return [template_from_article(config, article, user, name, language) for language in checked]


def _refuse_taken_name(config: Config, name: str, article: Article) -> None:
    """An article's template may replace only its own earlier version, never a built-in or another template."""
    stored = list(ReplyTemplate.select().where(ReplyTemplate.name == name))
    if any(row.article_id != article.id for row in stored):
        raise NotAllowed(N_("the reply template %(name)r exists and was not made from article %(id)s; choose "
                            "another name", name=name, id=article.id))
    if not stored and (outbound.mail_templates_folder(config) / f"{name}.txt.j2").is_file():
        raise NotAllowed(N_("%(name)r is a built-in template; choose another name", name=name))


def template_source(article: Article, language: str | None = None) -> tuple[str, str]:
    """The subject and text of an article's reply template from its variant in `language` (None: the
    primary variant), greeting in that language."""
    variant = article.variant(language) if language else article.primary
    found = choices(variant.language, list(_WORDING))
    named, plain, link_line, regards = _WORDING[found[0] if found else "en"]
    subject = 'Re: {{ ticket.subject or (article.title if article else "") }} {{ ticket.reference }}'
    text = (f"{{% if customer.name %}}\n{named}\n{{% else %}}\n{plain}\n{{% endif %}}\n\n"
            "{% if body %}\n{{ body|trim }}\n\n{% endif %}"
            f"{_literal(variant.resolution)}\n\n"
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
    """The templates a person may answer with: the built-in reply, then the team's own (each name once,
    whatever languages it has)."""
    refused = system_templates(config)
    stored = [name for (name,) in ReplyTemplate.select(ReplyTemplate.name).distinct().order_by(ReplyTemplate.name)
              .tuples()]
    return ["reply", *[name for name in stored if name not in refused and name != "reply"]]


def _rows_by_variant(article: Article, rows) -> dict:
    """An article template's rows by the language of the variant each was made from: a row in no
    language (made before articles had variants) is its primary variant's."""
    primary = article.primary.language if article.primary else ""
    return {row.language or primary: row for row in rows}


def variant_for_ticket(config: Config, ticket: Ticket, name: str) -> VariantChoice | None:
    """Which checked variant of its article template `name` gives the ticket's customer, and whether it
    is their language (None: not an article's template, or no variant it was made from is checked)."""
    rows = [row for row in ReplyTemplate.select().where(ReplyTemplate.name == name) if row.article_id]
    article = Article.get_or_none(Article.id == rows[0].article_id) if rows else None
    if article is None:
        return None
    return choose_variant(config, article, tickets.writing_language(config, ticket.requester),
                          among=set(_rows_by_variant(article, rows)))


def reply(config: Config, ticket: Ticket, name: str, agent: User | None, body: str = "", flag: Flag | None = None,
          language: str | None = None):
    """Send reply template `name` to the ticket's requester; a template made from an article goes in the
    article's variant for the customer's language (or the closest, see variant_for_ticket; or `language`
    when the agent picked one), and also links the ticket to the article (and raises `flag` on it).
    One transaction: nothing of it happens without the rest."""
    if name in system_templates(config):
        raise PatroldeskError(N_("%(name)r is mail the system sends on its own; answer with 'reply' or a team "
                                 "template", name=name))
    stored = list(ReplyTemplate.select().where(ReplyTemplate.name == name))
    made_from = next((row.article_id for row in stored if row.article_id), None)
    article = Article.get_or_none(Article.id == made_from) if made_from else None
    if flag is not None and article is None:
        raise NotFound(N_("template %(name)r was not made from an article, so there is no article to flag",
                          name=name))
    if made_from and article is None:
        raise NotFound(N_("template %(name)r was made from an article that no longer exists; a reviewer retires it",
                          name=name))
    if article is None:
        return outbound.send_templated(config, ticket, name, kind="reply", agent=agent, body=body,
                                       language=language)
    rows = _rows_by_variant(article, [row for row in stored if row.article_id])
    choice = variant_for_ticket(config, ticket, name)
    picked = normalise(language) if language else (choice.language if choice else None)
    variant = article.variant(picked) if picked else None
    if variant is None or variant.state not in CHECKED_STATES or picked not in rows:
        state = Text(variant.state if variant else article.state)
        if picked:
            raise NotAllowed(N_("template %(name)r was made from article %(id)s, which is now %(state)s in "
                                "%(language)s; a reviewer looks at it again (kb flags)", name=name, id=article.id,
                                state=state, language=picked))
        raise NotAllowed(N_("template %(name)r was made from article %(id)s, which is now %(state)s; a reviewer "
                            "looks at it again (kb flags)", name=name, id=article.id, state=state))
    provenance = {"article": article.id, "article_revision": rows[picked].article_revision}
    shown = outbound.TemplateArticle(title=variant.title, url=public_url(config, article, variant.language))
    with database.atomic():
        queued = outbound.send_templated(config, ticket, name, kind="reply", agent=agent, body=body, article=shown,
                                         provenance=provenance, language=rows[picked].language)
        wanted = tickets.writing_language(config, ticket.requester)
        if picked not in (wanted, *NEIGHBOURS.get(wanted, ())):  # the agent was told; the trail keeps it
            tickets.audit(ticket, "article sent in another language", {
                "article": article.id, "language": picked, "customer_language": wanted}, actor=agent)
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
        raise NotAllowed(N_("only a reviewer or an admin marks a template reviewed"))
    article = Article.get_by_id(template.article_id)
    template.needs_review, template.updated_at = False, utcnow()
    template.article_revision = latest_revision(article, template.language) or article.revision
    template.save()
    return template
