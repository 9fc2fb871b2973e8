"""Knowledge articles: KCS structure, lifecycle, revisions, flags and reuse; one article per problem.

An article is one problem: one id, one set of links to tickets, flags,
reuse and reopen counts. Its text is in variants, one per language, each
with a title, the issue in the customer's words, the environment, the
resolution, the cause and keywords, and each with its own state: draft
(work in progress), not_validated, validated, published (customers may
read it) and archived. The article's own state sums its variants up: it
is as far along as its furthest variant (validated when any variant is,
published when any is, archived only when all are), so a problem is found
and suggested once one language of it has been checked.

Agents write and improve drafts and unvalidated variants, add a variant in
their language to an existing article (the same problem, asked in another
language) and flag anything; reviewers and admins validate, publish,
archive, clear flags and edit any variant. An agent's edit of a validated
variant sends it back to not_validated; a published one they flag instead.
Every change of a variant is a revision of the article (numbered per
article, with the variant's language), with its author, time and reason,
and any two can be compared.

A ticket linked to an article is a reuse (or the article's creation),
whatever language it was found in; a ticket that comes back after it was
closed with an article counts against the article, and [knowledge]
reopen_flag_after of them flag it. Capture on close lives in
daemon.knowledge.capture, the figures in daemon.knowledge.figures.
"""
from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from dataclasses import dataclass, fields
from types import SimpleNamespace

from peewee import JOIN, fn

from daemon import tickets
from daemon.config import Config
from daemon.errors import NotFound, PatroldeskError
from daemon.knowledge.public import help_address
from daemon.knowledge.voice import reads_as_diary
from daemon.knowledge.search import (
    clear as clear_index, index as index_article, index_for_suggestions, unindex_for_suggestions,
)
from daemon.languages import DETECTED, FALLBACK, NEIGHBOURS, N_, Text, normalise
from daemon.mail.language import detect
from daemon.store import db
from daemon.store.db import database
from daemon.store.models import (
    FLAG_KINDS, Article, ArticleFlag, ArticleLink, ArticleRevision, ArticleVariant, ReplyTemplate,
    SearchLog, Ticket, User, utcnow,
)

REVIEWER_ROLES = ("reviewer", "admin")
# The states capture and "reuse before create" look in: everything but the retired.
LIVE_STATES = ("draft", "not_validated", "validated", "published")
# What an agent is offered when a ticket opens: only articles someone has checked.
CHECKED_STATES = ("validated", "published")
# action: (the states it starts from, the state it leads to, who may take it); each acts on one variant.
TRANSITIONS = {
    "submit": (("draft",), "not_validated", None),
    "validate": (("draft", "not_validated"), "validated", REVIEWER_ROLES),
    "publish": (("validated",), "published", REVIEWER_ROLES),
    "unpublish": (("published",), "validated", REVIEWER_ROLES),
    "archive": (("draft", "not_validated", "validated", "published"), "archived", REVIEWER_ROLES),
    "restore": (("archived",), "not_validated", REVIEWER_ROLES),
}
# What may be done to every variant at once: retiring the problem, and bringing it back.
WHOLE_ARTICLE_ACTIONS = ("archive", "restore")
# How far along a state is: the article takes its furthest variant's.
_PROGRESS = {"archived": 0, "draft": 1, "not_validated": 2, "validated": 3, "published": 4}
# The actions as a refusal names them (said in the reader's language on the console).
_ACTION_NAMES = {"submit": N_("submit"), "validate": N_("validate"), "publish": N_("publish"),
                 "unpublish": N_("unpublish"), "archive": N_("archive"), "restore": N_("restore")}
_LIMITS = {"title": 300, "issue": 20_000, "environment": 5_000, "resolution": 50_000, "cause": 5_000}


@dataclass(frozen=True)
class ArticleText:
    """What a person writes of an article in one language (its KCS fields)."""
    title: str
    issue: str = ""
    environment: str = ""
    resolution: str = ""
    cause: str = ""
    keywords: tuple[str, ...] = ()

    @classmethod
    def of(cls, source: ArticleVariant | ArticleRevision | Article) -> "ArticleText":
        """The text of a variant or a revision (of an article: its primary variant's)."""
        return cls(title=source.title, issue=source.issue, environment=source.environment,
                   resolution=source.resolution, cause=source.cause,
                   keywords=tuple(json.loads(source.keywords or "[]")))

    def replace(self, **changes) -> "ArticleText":
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update({k: v for k, v in changes.items() if v is not None})
        return ArticleText(**values)


class ArticleRefused(PatroldeskError):
    """An article, or a change of it, that may not be saved; `problems` maps each field to what is wrong."""

    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__("the article is refused: " + "; ".join(f"{key}: {why}" for key, why in problems.items()))


class NotAllowed(PatroldeskError):
    """The user's role does not allow this, or the article's state does not."""


# Reading ----------------------------------------------------------------------

def get_article(article_id: int) -> Article:
    article = Article.get_or_none(Article.id == article_id)
    if article is None:
        raise NotFound(N_("no article %(id)s", id=article_id))
    return article


def get_variant(article: Article, language: str | None = None) -> ArticleVariant:
    """The article's variant in `language`; without one, its only variant (refused when it has several)."""
    variants = article.variant_list
    if language:
        found = article.variant(normalise(language))
        if found is None:
            raise NotFound(N_("article %(id)s has no %(language)s variant (it has %(languages)s)", id=article.id,
                              language=normalise(language), languages=_languages_of(article)))
        return found
    if len(variants) == 1:
        return variants[0]
    raise NotAllowed(N_("article %(id)s has variants in %(languages)s: say which language", id=article.id,
                        languages=", ".join(article.languages)))


def _languages_of(article: Article) -> str | Text:
    """The article's languages as a refusal lists them ("none" when it has no variant)."""
    return ", ".join(article.languages) or N_("none")


def missing_languages(article: Article, wanted) -> list[str]:
    """Of the readers' languages `wanted`, those no live variant of the article serves (its own or a
    neighbour its reader reads, as nynorsk readers read bokmål): the gaps, each once."""
    have = {v.language for v in article.variant_list if v.state != "archived"}
    gaps = []
    for language in wanted:
        language = normalise(language)
        if language and language not in gaps and not have & {language, *NEIGHBOURS.get(language, ())}:
            gaps.append(language)
    return gaps


def public_url(config: Config, article: Article, language: str | None = None) -> str:
    """Where customers read the article (in `language`; None: its first published variant): only a
    published variant; at [knowledge] public_url when set, else at the help center's page of the
    variant, else nowhere ("")."""
    if language is not None:
        variant = article.variant(normalise(language))
    else:
        variant = next((v for v in article.variant_list if v.state == "published"), None)
    if variant is None or variant.state != "published":
        return ""
    if config.knowledge.public_url:
        return config.knowledge.public_url.format(id=article.id)
    if not config.help.enabled:
        return ""
    return help_address(config, variant)


def revisions(article: Article, language: str | None = None) -> list[ArticleRevision]:
    """Every revision (of the `language` variant, when given), oldest first, with its author read in the
    same query."""
    query = (ArticleRevision.select(ArticleRevision, User).join(User, JOIN.LEFT_OUTER, on=(
        ArticleRevision.author == User.id)).where(ArticleRevision.article == article.id))
    if language:
        query = query.where(ArticleRevision.language == normalise(language))
    return list(query.order_by(ArticleRevision.number))


def get_revision(article: Article, number: int) -> ArticleRevision:
    found = ArticleRevision.get_or_none((ArticleRevision.article == article.id) & (ArticleRevision.number == number))
    if found is None:
        raise NotFound(N_("article %(id)s has no revision %(number)s (it has 1 to %(last)s)", id=article.id,
                          number=number, last=article.revision))
    return found


def latest_revision(article: Article, language: str) -> int:
    """The number of the newest revision of the article's `language` variant (0: none)."""
    return (ArticleRevision.select(fn.MAX(ArticleRevision.number)).where(
        (ArticleRevision.article == article.id) & (ArticleRevision.language == language)).scalar() or 0)


def diff(article: Article, old: int, new: int) -> str:
    """Revision `old` against revision `new`, field by field, as a unified diff (empty: no difference)."""
    first, second = get_revision(article, old), get_revision(article, new)
    before, after = ArticleText.of(first), ArticleText.of(second)
    chunks = []
    for name in ("title", "issue", "environment", "resolution", "cause", "keywords"):
        left, right = _field_lines(before, name), _field_lines(after, name)
        if left != right:
            chunks.extend(difflib.unified_diff(left, right, f"{name} (revision {old}, {first.language})",
                                               f"{name} (revision {new}, {second.language})", lineterm=""))
    return "\n".join(chunks)


def _field_lines(text: ArticleText, name: str) -> list[str]:
    value = getattr(text, name)
    return list(value) if name == "keywords" else value.splitlines()


def open_flags(article: Article) -> list[ArticleFlag]:
    return list(ArticleFlag.select().where((ArticleFlag.article == article.id) & ArticleFlag.cleared_at.is_null())
                .order_by(ArticleFlag.id))


def open_flag_counts(article_ids: list[int]) -> dict[int, int]:
    """How many open flags each of these articles has (those without any are left out)."""
    rows = (ArticleFlag.select(ArticleFlag.article, fn.COUNT(ArticleFlag.id)).where(
        ArticleFlag.article.in_(article_ids) & ArticleFlag.cleared_at.is_null()).group_by(ArticleFlag.article)
        .tuples())
    return dict(rows)


def flag_queue() -> list[ArticleFlag]:
    """Every open flag, oldest first: the reviewers' queue."""
    return list(ArticleFlag.select(ArticleFlag, Article, User)
                .join(Article, on=(ArticleFlag.article == Article.id))
                .join(User, JOIN.LEFT_OUTER, on=(ArticleFlag.raised_by == User.id), src=ArticleFlag)
                .where(ArticleFlag.cleared_at.is_null()).order_by(ArticleFlag.id))


def articles_of_ticket(ticket: Ticket) -> list[ArticleLink]:
    return list(ArticleLink.select().where(ArticleLink.ticket == ticket.id).order_by(ArticleLink.id))


# Writing ----------------------------------------------------------------------

def check_text(text: ArticleText) -> dict[str, str]:
    """What is wrong with an article's fields (empty: nothing)."""
    problems = {}
    if not text.title.strip():
        problems["title"] = N_("missing: say the problem in a line, as a customer would")
    if not text.issue.strip():
        problems["issue"] = N_("missing: the problem in the customer's words")
    for name, limit in _LIMITS.items():
        if len(getattr(text, name)) > limit and name not in problems:
            problems[name] = N_("too long (%(length)s characters, at most %(limit)s)", length=len(getattr(text, name)),
                                limit=limit)
    if any(not k.strip() or len(k) > 64 for k in text.keywords):
        problems["keywords"] = N_("each keyword is 1 to 64 characters")
    return problems


def check_language(language: str) -> dict[str, str]:
    """What is wrong with a variant's language code (empty: nothing)."""
    if normalise(language) not in DETECTED:
        return {"language": N_("one of %(languages)s, not %(given)r", languages=", ".join(DETECTED), given=language)}
    return {}


def create_article(text: ArticleText, author: User | None, ticket: Ticket | None = None,
                   note: str = "written", language: str | None = None) -> Article:
    """A new article with one draft variant in `language` (None: the language the text is written in),
    its first revision and its index entry, in one transaction."""
    text = _clean(text)
    language = normalise(language) if language else language_of(text)
    _refuse({**check_language(language), **check_text(text)})
    with database.atomic():
        now = utcnow()
        article = Article.create(state="draft", revision=0, source_ticket=ticket.id if ticket else None,
                                 created_by=author, created_at=now, updated_at=now)
        variant = ArticleVariant.create(article=article.id, language=language, state="draft", created_by=author,
                                        created_at=now, updated_at=now, **_columns(text))
        _changed(article, variant, author, ticket, note)
    return get_article(article.id)


def add_variant(article: Article, language: str, text: ArticleText, author: User, ticket: Ticket | None = None,
                note: str = "") -> ArticleVariant:
    """The article in one more language: a draft variant, its revision and its index entry. From a
    ticket ("the same problem as article N, asked in Russian"), the ticket is linked to the article too."""
    article = get_article(article.id)
    language = normalise(language)
    text = _clean(text)
    _refuse({**check_language(language), **check_text(text)})
    if article.variant(language) is not None:
        raise ArticleRefused({"language": N_("article %(id)s has a %(language)s variant already; improve it "
                                             "(kb edit %(id)s --language %(language)s)", id=article.id,
                                             language=language)})
    if article.state == "archived":
        raise NotAllowed(N_("article %(id)s is archived; a reviewer restores it before it is changed", id=article.id))
    with database.atomic():
        locked = _for_update(article.id)
        now = utcnow()
        variant = ArticleVariant.create(article=locked.id, language=language, state="draft", created_by=author,
                                        created_at=now, updated_at=now, **_columns(text))
        _changed(locked, variant, author, ticket, note or f"{language} variant written")
        if ticket is not None:
            link(locked, ticket, "reused", author)
    return variant


def edit_article(article: Article, text: ArticleText, author: User, ticket: Ticket | None = None,
                 note: str = "edited", language: str | None = None) -> Article:
    """A new revision of one variant's fields (`language`; None: the article's only variant); see the
    module's rules on who may edit what."""
    article = get_article(article.id)
    variant = get_variant(article, language)
    reviewer = author.role in REVIEWER_ROLES
    if variant.state == "archived":
        raise NotAllowed(N_("article %(id)s (%(language)s) is archived; a reviewer restores it before it is changed",
                            id=article.id, language=variant.language))
    if variant.state == "published" and not reviewer:
        raise NotAllowed(N_("article %(id)s (%(language)s) is published: customers read it, so a reviewer changes "
                            "it; flag it with what is wrong (kb flag %(id)s --kind incomplete ...)", id=article.id,
                            language=variant.language))
    text = _clean(text)
    _refuse(check_text(text))
    if text == ArticleText.of(variant):
        raise ArticleRefused({"article": N_("nothing changed")})
    with database.atomic():
        locked = _for_update(article.id)
        variant = ArticleVariant.get_by_id(variant.id)
        resolution_before = variant.resolution
        for key, value in _columns(text).items():
            setattr(variant, key, value)
        if variant.state == "validated" and not reviewer:
            variant.state = "not_validated"  # a candidate's change is checked again
        variant.updated_at = utcnow()
        variant.save()
        _changed(locked, variant, author, ticket, note)
        if variant.resolution != resolution_before:
            _settle_rewrite(locked, variant, author)
    return get_article(article.id)


def _settle_rewrite(article: Article, variant: ArticleVariant, author: User) -> None:
    """An edit that rewrites the resolution so that it reads as steps for the customer clears the rewrite
    flag drafting raised; a resolution still written as a diary keeps it."""
    if reads_as_diary(variant.resolution, variant.language):
        return
    ArticleFlag.update(cleared_by=author.id, cleared_at=utcnow(),
                       clear_note="the resolution was rewritten as steps for the customer").where(
        (ArticleFlag.article == article.id) & (ArticleFlag.kind == "rewrite") & ArticleFlag.raised_by.is_null()
        & ArticleFlag.cleared_at.is_null()).execute()


def transition(article: Article, action: str, user: User, note: str = "", language: str | None = None) -> Article:
    """Move one variant (`language`; None: the only one) through its lifecycle (TRANSITIONS); archive and
    restore without a language act on every variant they can. Refused when the state or role does not allow it."""
    if action not in TRANSITIONS:
        raise PatroldeskError(N_("no article action %(action)r (the actions are %(actions)s)", action=action,
                                 actions=", ".join(TRANSITIONS)))
    sources, target, roles = TRANSITIONS[action]
    article = get_article(article.id)
    if roles and user.role not in roles:
        raise NotAllowed(N_("only a reviewer or an admin may %(action)s an article (%(user)s is %(role)s)",
                            action=_ACTION_NAMES[action], user=user.username, role=Text(user.role)))
    if language is None and action in WHOLE_ARTICLE_ACTIONS and len(article.variant_list) > 1:
        variants = [v for v in article.variant_list if v.state in sources]
        if not variants:
            raise NotAllowed(N_("article %(id)s is %(state)s; %(action)s takes an article that is %(states)s",
                                id=article.id, state=Text(article.state), action=_ACTION_NAMES[action],
                                states=_either(sources)))
    else:
        variants = [get_variant(article, language)]
        if variants[0].state not in sources:
            raise NotAllowed(_which(article, variants[0], N_(
                "article %(id)s is %(state)s; %(action)s takes an article that is %(states)s",
                id=article.id, state=Text(variants[0].state), action=_ACTION_NAMES[action],
                states=_either(sources)), N_(
                "article %(id)s (%(language)s) is %(state)s; %(action)s takes an article that is %(states)s",
                id=article.id, language=variants[0].language, state=Text(variants[0].state),
                action=_ACTION_NAMES[action], states=_either(sources))))
    if target in CHECKED_STATES and action != "unpublish":
        for variant in variants:
            _refuse_unchecked(article, variant)
    with database.atomic():
        locked = _for_update(article.id)
        for variant in variants:
            variant = ArticleVariant.get_by_id(variant.id)
            if variant.state not in sources:
                raise NotAllowed(_which(article, variant, N_(
                    "article %(id)s became %(state)s meanwhile", id=article.id, state=Text(variant.state)), N_(
                    "article %(id)s (%(language)s) became %(state)s meanwhile", id=article.id,
                    language=variant.language, state=Text(variant.state))))
            now = utcnow()
            variant.state, variant.updated_at = target, now
            if target == "validated" and action == "validate":
                variant.validated_at, variant.validated_by = now, user.id
            if target == "published":
                variant.published_at = now
            variant.save()
            _changed(locked, variant, user, None, f"{action}{': ' + note if note else ''}", content=False)
    return get_article(article.id)


def _which(article: Article, variant: ArticleVariant, one: Text, several: Text) -> Text:
    """The refusal that names the variant's language when the article has several, the other when not."""
    return several if len(article.variant_list) > 1 else one


def _either(states) -> Text:
    """States as a refusal lists them ("draft or not_validated"), each said in the reader's language."""
    *rest, last = states
    return N_("%(one)s or %(other)s", one=_either(rest), other=Text(last)) if rest else Text(last)


def reindex_all(batch: int = 500) -> int:
    """Build the search index, the document frequencies and the suggestion weights anew, from the
    articles themselves; weights are computed against the base as it is now, not as it was when
    each article was checked. Returns how many articles were indexed."""
    ids = [row.id for row in Article.select(Article.id).order_by(Article.id)]
    with database.atomic():
        clear_index()
    for start in range(0, len(ids), batch):
        with database.atomic():
            for article in Article.select().where(Article.id.in_(ids[start:start + batch])):
                index_article(searchable(article))
    for start in range(0, len(ids), batch):
        with database.atomic():
            for article in Article.select().where(Article.id.in_(ids[start:start + batch])):
                _offer_if_checked(article)
    return len(ids)


def searchable(article: Article, states: tuple[str, ...] = LIVE_STATES):
    """The article as the search index reads it: its id and state, the text of its variants in `states`
    (every language in one document, so a search in any of them finds the one problem), and the
    variants themselves (`variant_list`)."""
    variants = [v for v in article.variant_list if v.state in states]

    def joined(name: str) -> str:
        return "\n".join(getattr(v, name) for v in variants if getattr(v, name))

    return SimpleNamespace(
        id=article.id, state=article.state, variant_list=variants,
        title=joined("title"), issue=joined("issue"), environment=joined("environment"),
        resolution=joined("resolution"), cause=joined("cause"),
        keyword_list=list(dict.fromkeys(k for v in variants for k in v.keyword_list)))


def _offer_if_checked(article: Article) -> None:
    """Live articles are suggested on tickets by their live variants' words (a draft or one not validated
    yet is marked so where it is shown); an archived one no more."""
    if article.state in LIVE_STATES:
        index_for_suggestions(searchable(article, LIVE_STATES))
    else:
        unindex_for_suggestions(article.id)


def _changed(article: Article, variant: ArticleVariant, author: User | None, ticket: Ticket | None, note: str,
             content: bool = True) -> None:
    """After a variant changed (inside the caller's transaction): the article sums its variants up
    again, a revision records the variant, the index and suggestions learn it, templates made from the
    variant are marked for review."""
    article.forget_variants()
    variants = article.variant_list
    article.state = max((v.state for v in variants), key=lambda state: _PROGRESS[state])
    validated = max((v for v in variants if v.validated_at), key=lambda v: v.validated_at, default=None)
    article.validated_at, article.validated_by = (validated.validated_at, validated.validated_by_id) \
        if validated else (None, None)
    article.published_at = max((v.published_at for v in variants if v.published_at), default=None)
    article.revision += 1
    article.updated_at = variant.updated_at
    article.save(only=_SUMMARY_COLUMNS)
    _record_revision(article, variant, author, ticket, note)
    index_article(searchable(article))
    _offer_if_checked(article)
    if content or variant.state not in CHECKED_STATES:
        _templates_need_review(article, variant)  # a template must not go on sending what changed or was withdrawn


# What a change of a variant writes of the article: never the counters, which reuse and reopens move meanwhile.
_SUMMARY_COLUMNS = [Article.state, Article.revision, Article.updated_at, Article.validated_at, Article.validated_by,
                    Article.published_at]


def _for_update(article_id: int) -> Article:
    """The article as it stands, locked for the rest of the transaction (SQLite's writer lock already is)."""
    query = Article.select().where(Article.id == article_id)
    return (query if db.is_sqlite() else query.for_update()).get()


def _refuse_unchecked(article: Article, variant: ArticleVariant) -> None:
    problems = check_text(ArticleText.of(variant))
    if not variant.resolution.strip():
        problems["resolution"] = N_("missing: an article is validated with the steps that solve the problem")
    if open_flags(article):
        problems["flags"] = N_("open flags: clear them (kb clear FLAG) or change the article first")
    _refuse(problems)


def _refuse(problems: dict[str, str]) -> None:
    if problems:
        raise ArticleRefused(problems)


_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def plain(text: str) -> str:
    """Text without the control characters no article needs (PostgreSQL refuses NUL outright)."""
    return _CONTROLS.sub("", text or "")


def _clean(text: ArticleText) -> ArticleText:
    keywords = tuple(dict.fromkeys(" ".join(plain(k).split()) for k in text.keywords if plain(k).strip()))
    return ArticleText(title=" ".join(plain(text.title).split()), issue=plain(text.issue).strip(),
                       environment=plain(text.environment).strip(), resolution=plain(text.resolution).strip(),
                       cause=plain(text.cause).strip(), keywords=keywords)


def _columns(text: ArticleText) -> dict:
    return {"title": text.title, "issue": text.issue, "environment": text.environment,
            "resolution": text.resolution, "cause": text.cause,
            "keywords": json.dumps(list(text.keywords), ensure_ascii=False)}


def _record_revision(article: Article, variant: ArticleVariant, author: User | None, ticket: Ticket | None,
                     note: str) -> None:
    ArticleRevision.create(article=article.id, number=article.revision, language=variant.language,
                           title=variant.title, issue=variant.issue, environment=variant.environment,
                           resolution=variant.resolution, cause=variant.cause, keywords=variant.keywords,
                           state=variant.state, author=author, ticket=ticket.id if ticket else None, note=note,
                           created_at=article.updated_at)


def _templates_need_review(article: Article, variant: ArticleVariant) -> None:
    """The templates made from this variant (the revision they were made from is one of it) look older now."""
    of_variant = ArticleRevision.select(ArticleRevision.number).where(
        (ArticleRevision.article == article.id) & (ArticleRevision.language == variant.language))
    ReplyTemplate.update(needs_review=True).where(
        (ReplyTemplate.article == article.id) & (ReplyTemplate.article_revision < article.revision)
        & ReplyTemplate.article_revision.in_(of_variant)).execute()


def language_of(text: ArticleText | str, unsure: str = FALLBACK) -> str:
    """The language an article's text is written in (its title, issue and resolution); `unsure` when the
    detector cannot tell for sure (a few words of English may look Danish)."""
    value = text if isinstance(text, str) else "\n".join((text.title, text.issue, text.resolution))
    found = detect(value)
    return found.language if found is not None and found.confident else unsure


# Flags ------------------------------------------------------------------------

def raise_flag(article: Article, kind: str, user: User | None, detail: str = "",
               duplicate_of: Article | None = None, ticket: Ticket | None = None) -> ArticleFlag:
    """Anyone flags what is wrong with an article; it goes to the reviewers' queue."""
    detail = plain(detail)
    _refuse(check_flag(article, kind, user, detail, duplicate_of))
    return ArticleFlag.create(article=article.id, kind=kind, detail=detail.strip(),
                              duplicate_of=duplicate_of.id if duplicate_of else None,
                              ticket=ticket.id if ticket else None, raised_by=user, raised_at=utcnow())


def check_flag(article: Article, kind: str, user: User | None, detail: str = "",
               duplicate_of: Article | None = None) -> dict[str, str]:
    """What is wrong with a flag before it is raised (empty: nothing)."""
    problems = {}
    if kind not in FLAG_KINDS:
        problems["kind"] = N_("one of %(kinds)s, not %(given)r", kinds=", ".join(FLAG_KINDS), given=kind)
    if kind == "reopened" and user is not None:
        problems["kind"] = N_("reopened is raised by the system, when tickets come back; say what is wrong instead")
    if kind == "duplicate" and duplicate_of is None:
        problems["duplicate_of"] = N_("name the article this one duplicates")
    if duplicate_of is not None and duplicate_of.id == article.id:
        problems["duplicate_of"] = N_("an article does not duplicate itself")
    if kind != "duplicate" and user is not None and not detail.strip():
        problems["detail"] = N_("say what is wrong, so a reviewer can fix it")
    return problems


def get_flag(flag_id: int) -> ArticleFlag:
    flag = ArticleFlag.get_or_none(ArticleFlag.id == flag_id)
    if flag is None:
        raise NotFound(N_("no article flag %(id)s", id=flag_id))
    return flag


def clear_flag(flag: ArticleFlag, user: User, note: str) -> ArticleFlag:
    """A reviewer clears a flag, saying what was done about it."""
    if user.role not in REVIEWER_ROLES:
        raise NotAllowed(N_("only a reviewer or an admin clears flags (%(user)s is %(role)s)", user=user.username,
                            role=Text(user.role)))
    if flag.cleared_at is not None:
        raise NotAllowed(N_("flag %(id)s was cleared already", id=flag.id))
    if not note.strip():
        raise ArticleRefused({"note": N_("say what was done about it (fixed, not a problem, merged...)")})
    flag.cleared_at, flag.cleared_by, flag.clear_note = utcnow(), user.id, plain(note).strip()
    flag.save()
    return flag


# Reuse ------------------------------------------------------------------------

def link(article: Article, ticket: Ticket, kind: str, user: User | None, report=None) -> bool:
    """Link a ticket to an article; a first link of a ticket to an article that it did not create is a
    reuse and counts. Returns whether the link is new. Recent searches that showed the article learn
    that it was used (see _searches_used), also when the ticket was linked to it before."""
    with database.atomic():
        now = utcnow()
        existing = ArticleLink.get_or_none((ArticleLink.article == article.id) & (ArticleLink.ticket == ticket.id))
        if existing is not None:
            if report is not None:  # closed (again) with it: a later reopen counts again
                existing.report, existing.reopened_at = report.id, None
                existing.save()
            _searches_used(article, ticket, user, now)
            return False
        ArticleLink.create(article=article.id, ticket=ticket.id, kind=kind, user=user,
                           report=report.id if report else None, created_at=now)
        if kind != "created":
            Article.update(reuse_count=Article.reuse_count + 1, last_used_at=now).where(
                Article.id == article.id).execute()
        _searches_used(article, ticket, user, now)
        tickets.audit(ticket, "article linked", {"article": article.id, "kind": kind}, actor=user)
    return True


def unlink(article: Article, ticket: Ticket, user: User | None) -> bool:
    """Take back a link made by mistake (a match the agent disagrees with); a reuse stops counting."""
    with database.atomic():
        existing = ArticleLink.get_or_none((ArticleLink.article == article.id) & (ArticleLink.ticket == ticket.id))
        if existing is None:
            return False
        existing.delete_instance()
        if existing.kind != "created":
            Article.update(reuse_count=Article.reuse_count - 1).where(Article.id == article.id).execute()
        tickets.audit(ticket, "article unlinked", {"article": article.id, "kind": existing.kind}, actor=user)
    return True


def _searches_used(article: Article, ticket: Ticket, user: User | None, now) -> None:
    """Mark used the searches that showed the article: this ticket's of the last day, and those for no ticket
    of the last two hours by this person or by no one named (`kb search` without --as)."""
    led_here = SearchLog.ticket == ticket.id
    if user is not None:  # the system links only what the ticket's own searches could have led to
        led_here |= (SearchLog.ticket.is_null() & ((SearchLog.user == user.id) | SearchLog.user.is_null())
                     & (SearchLog.created_at > now - dt.timedelta(hours=2)))
    recent = SearchLog.select().where(
        SearchLog.used_article.is_null() & (SearchLog.created_at > now - dt.timedelta(days=1)) & led_here)
    for row in recent:
        if article.id in json.loads(row.result_ids or "[]"):
            SearchLog.update(used_article=article.id, used_at=now).where(SearchLog.id == row.id).execute()


def ticket_reopened(config: Config, ticket: Ticket) -> None:
    """The customer came back: each article the ticket was closed with counts it against itself."""
    now = utcnow()
    for row in ArticleLink.select().where((ArticleLink.ticket == ticket.id) & ArticleLink.report.is_null(False)
                                          & ArticleLink.reopened_at.is_null()):
        ArticleLink.update(reopened_at=now).where(ArticleLink.id == row.id).execute()
        Article.update(reopen_count=Article.reopen_count + 1).where(Article.id == row.article_id).execute()
        article = Article.get_by_id(row.article_id)
        tickets.audit(ticket, "counted against article", {"article": article.id, "reopens": article.reopen_count})
        already = ArticleFlag.select().where((ArticleFlag.article == article.id) & (ArticleFlag.kind == "reopened")
                                             & ArticleFlag.cleared_at.is_null()).exists()
        if article.reopen_count >= config.knowledge.reopen_flag_after and not already:
            raise_flag(article, "reopened", None, ticket=ticket,
                       detail=f"{article.reopen_count} tickets came back after being closed with this article "
                              f"(the latest: #{ticket.number})")
