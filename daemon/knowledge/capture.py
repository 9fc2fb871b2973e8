"""Capture on close: reuse an article that knows the problem, or draft one from the SBO note.

KCS captures knowledge while the problem is solved, in the customer's
words, and reuses before it writes. So a closing note first searches the
knowledge base with the ticket's words (the customer's first mail, the
subject and the note). The candidates full-text search finds are scored by
how alike they are (cosine of idf-weighted stems); one at or above
[knowledge] link_percent takes the ticket as a reuse, and the agent is
offered to improve it; from match_percent up to it, closing first asks the
agent (choices, ChooseArticle) which one solved it, if any. Otherwise a
draft is written from
templates/articles/<article_template>.j2: the issue from the customer's
first mail, the environment from the note's tags, the resolution from the
behaviour, the cause from the cause and outcome, keywords by TF-IDF against
the knowledge base and from the agent's own searches for the ticket.
Names (third persons' too), addresses but our own, phone numbers, ticket
references, identifiers and signatures are taken out of everything copied
(daemon.knowledge.redact); each removal is kept where it was taken from, so
the agent sees what went and can put one back (removals_of, restore_removal).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from peewee import InterfaceError, OperationalError

from daemon import tickets
from daemon.config import Config
from daemon.errors import PatroldeskError
from daemon.knowledge.articles import (
    LIVE_STATES, ArticleRefused, ArticleText, articles_of_ticket, create_article, edit_article, get_article,
    get_variant, language_of, link as link_article, raise_flag, unlink as unlink_article,
)
from daemon.knowledge.search import (
    document_frequencies, documents as indexed_documents, match as match_groups, suggest,
)
from daemon.knowledge.words import (
    concept_counts, content_words, cosine, idf, keywords as weighted_keywords, query_groups, term_counts,
)
from daemon.knowledge.redact import PLACEHOLDER_RE, PLACEHOLDERS, Removed, redact, signature_names
from daemon.knowledge.voice import reads_as_diary
from daemon.languages import N_
from daemon.mail.language import detect
from daemon.outbound import TemplateRefused
from daemon.store.db import database, execute, insert_fast
from daemon.store.models import (
    Article, ArticleLink, ArticleRemoval, ArticleSuggestion, Message, PatrolReport, SearchLog, Ticket, User,
    utcnow,
)

# Subject prefixes of replies and forwards in the mail clients our customers use.
_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|sv|vs|aw|wg|ответ|отв|пересл|tr)\s*(\[\d+\])?\s*:\s*)+", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s")
_QUERY_TERMS = 30  # the ticket's most telling words that look for candidates
_CANDIDATES = 8
_KEYWORDS = 10
log = logging.getLogger("patroldesk.knowledge")
_COMPARED_WORDS = 40  # each side's most telling words; a rambling mail's asides do not dilute the match


@dataclass(frozen=True)
class Capture:
    """What closing did for the knowledge base."""
    action: str  # reused (a match), linked (the agent named the article), drafted, skipped, failed
    article: Article | None = None
    score: float = 0.0  # how alike ticket and article are, 0 to 1 (reused, or the best miss when drafted)
    removed: tuple[Removed, ...] = ()  # what drafting took out of the copied text
    searched: tuple[str, ...] = ()  # the agent's searches for the ticket, offered as keywords
    reason: str = ""


class ChooseArticle(PatroldeskError):
    """Closing found articles alike enough to be this problem, not alike enough to link without asking:
    the agent names the one that solved it, or says none does (a draft). Nothing was written."""

    def __init__(self, candidates: list[tuple[Article, float]]):
        listed = "; ".join(f"{a.id} ({a.title}, {round(score * 100)}% alike)" for a, score in candidates)
        super().__init__(N_("an article may already describe this problem: %(articles)s. Close with the one that "
                            "solved it, or say none does to draft a new one", articles=listed))
        self.candidates = candidates


@dataclass(frozen=True)
class TicketWords:
    """The words a ticket brings to the knowledge base."""
    subject: str
    customer_words: str  # the customer's first mail, as it reads without quotes and signature
    names: tuple[str, ...]  # of the people on the ticket, to keep out of articles
    others: tuple[str, ...] = ()  # third persons: copied in, or named under a signature (whole names only)


@dataclass(frozen=True)
class Matches:
    """What closing finds in the knowledge base, looked up once, before the close writes anything."""
    ranked: tuple  # (article, score), most alike first
    ask: tuple  # of those, the ones the agent is asked about: the best is alike, not alike enough to link


def matches_for_close(config: Config, ticket: Ticket, note) -> Matches | None:
    """The articles like the ticket and `note` (a patrol Note not written yet), and those to ask the agent
    about: at or above [knowledge] match_percent when the best is below link_percent (which links without
    asking). None when closing would not search: capture is off, the outcome kind is not captured, or the
    ticket is linked to an article already."""
    cfg = config.knowledge
    if not cfg.capture or note.outcome_kind not in cfg.capture_kinds or _earlier_links(ticket)[0]:
        return None
    ranked = tuple(ranked_matches(ticket_text(ticket_words(ticket), note)))
    clear = not ranked or ranked[0][1] * 100 >= max(cfg.link_percent, cfg.match_percent)
    return Matches(ranked, () if clear else tuple(m for m in ranked if m[1] * 100 >= cfg.match_percent))


def _earlier_links(ticket: Ticket) -> tuple[list, dict]:
    """The ticket's links to live articles (a reply from an article, `kb link`, an earlier close), and
    those articles by id."""
    links = articles_of_ticket(ticket)
    live = {a.id: a for a in Article.select().where(Article.id.in_([link.article_id for link in links])
                                                    & Article.state.in_(LIVE_STATES))}
    return [link for link in links if link.article_id in live], live


def on_close(config: Config, ticket: Ticket, report: PatrolReport, agent: User | None,
             article: Article | None = None, flag=None, wording: tuple[str, str] = ("", ""),
             matches: Matches | None = None) -> Capture:
    """Link the closed ticket to `article` (raising `flag` on it, a kb_replies.Flag), to a matching
    article, or to a new draft; in a savepoint, so a failure here is reported (and on the
    ticket's trail) but never stops the close. `wording`: the draft's title and its steps for the
    customer as the agent wrote them on closing, when they did; `matches`: matches_for_close's, when the
    close looked already (the knowledge base is not searched twice)."""
    try:
        with database.atomic():
            found = _capture(config, ticket, report, agent, article, wording, matches)
            if flag is not None and article is not None:
                raise_flag(article, flag.kind, agent, detail=flag.detail, ticket=ticket)
            return found
    except (InterfaceError, OperationalError):
        raise  # the database itself failed: the close cannot be written either
    except Exception as exc:  # noqa: BLE001 - a fault of the knowledge base must not keep a ticket open
        log.exception("ticket #%s: knowledge capture failed", ticket.number)
        reason = str(exc) if isinstance(exc, PatroldeskError) else f"{type(exc).__name__}: {exc}"
        tickets.audit(ticket, "knowledge capture failed", {"reason": reason}, actor=agent)
        return Capture("failed", reason=reason)


def _capture(config, ticket, report, agent, article, wording=("", ""), matches=None) -> Capture:
    if article is not None:
        link_article(article, ticket, "reused", agent, report=report)
        return Capture("linked", article)
    earlier, linked = _earlier_links(ticket)
    if earlier:  # a reply from an article, `kb link`, or an earlier close: the ticket was solved with it
        for link in earlier:
            link_article(linked[link.article_id], ticket, link.kind, agent, report=report)
        return Capture("linked", linked[earlier[-1].article_id], reason="the ticket was already linked to it")
    cfg = config.knowledge
    if not cfg.capture:
        return Capture("skipped", reason="[knowledge] capture is off")
    if report.outcome_kind not in cfg.capture_kinds:
        return Capture("skipped", reason=f"a {report.outcome_kind} outcome is not captured ([knowledge] capture_kinds)")
    if matches is not None:
        found, score = matches.ranked[0] if matches.ranked else (None, 0.0)
    else:
        found, score = best_match(ticket_text(ticket_words(ticket), report))
    if found is not None and score * 100 >= max(cfg.link_percent, cfg.match_percent):
        link_article(found, ticket, "reused", agent, report=report)
        return Capture("reused", found, score)
    # Below link_percent the agent was asked before closing (choices) and named no article: a draft.
    return _draft(config, ticket, report, agent, best_miss=score, wording=wording)


def draft_for_ticket(config: Config, ticket: Ticket, agent: User, force: bool = False) -> Capture:
    """A draft from the ticket's newest SBO note, unless an article already matches. With `force` it drafts
    anyway, and a reuse of the matching article that closing recorded for this ticket is taken back."""
    report = PatrolReport.select().where(PatrolReport.ticket == ticket.id).order_by(PatrolReport.seq.desc()).first()
    if report is None:
        raise PatroldeskError(N_("ticket #%(number)s has no SBO note yet; an article is drafted from one "
                                 "(patroldesk patrol note %(number)s ...)", number=ticket.number))
    found, score = best_match(ticket_text(ticket_words(ticket), report))
    if found is not None and score * 100 >= config.knowledge.match_percent and not force:
        return Capture("reused", found, score, reason="an article already covers this; --force drafts anyway")
    with database.atomic():
        if found is not None and force and ArticleLink.select().where(
                (ArticleLink.article == found.id) & (ArticleLink.ticket == ticket.id)
                & (ArticleLink.kind == "reused")).exists():
            unlink_article(found, ticket, agent)
        return _draft(config, ticket, report, agent, best_miss=score)


# Matching ---------------------------------------------------------------------

def ticket_words(ticket: Ticket, ours: tuple[str, ...] | None = None) -> TicketWords:
    """The ticket's subject and first mail, and the names to keep out of an article. With `ours` (our own
    domains, whose people are no third persons), third persons too: read from every mail, so only for a
    draft, never for matching."""
    first = (Message.select(Message.body_visible, Message.body_text)
             .where((Message.ticket == ticket.id) & (Message.kind == "inbound") & Message.automatic.is_null())
             .order_by(Message.id).first())
    senders = {m.sender_name for m in Message.select(Message.sender_name).where(
        (Message.ticket == ticket.id) & (Message.kind == "inbound") & Message.automatic.is_null())}
    requester = ticket.requester
    names = tuple(n for n in dict.fromkeys((requester.name, *sorted(senders))) if n and n.strip())
    text = (first.body_visible or first.body_text) if first else ""
    others = () if ours is None else tuple(n for n in _third_persons(ticket, ours) if n not in names)
    return TicketWords(subject=clean_subject(ticket.subject), customer_words=text, names=names, others=others)


def _third_persons(ticket: Ticket, ours: tuple[str, ...]) -> list[str]:
    """People copied in on the customers' mails (not at our domains), and names under their signatures."""
    found: list[str] = []
    for mail in Message.select(Message.body_text, Message.to_addrs, Message.cc_addrs).where(
            (Message.ticket == ticket.id) & (Message.kind == "inbound") & Message.automatic.is_null()):
        found += [name for name, address in _named(mail.to_addrs) + _named(mail.cc_addrs) if not _ours(address, ours)]
        found += signature_names(mail.body_text or "")
    return [name for name in dict.fromkeys(found) if name.strip()]


def _named(addresses_json: str | None) -> list[tuple[str, str]]:
    try:
        pairs = json.loads(addresses_json or "[]")
    except ValueError:
        return []
    return [(str(pair[0]), str(pair[1])) for pair in pairs if isinstance(pair, list) and len(pair) == 2 and pair[0]]


def _ours(address: str, domains: tuple[str, ...]) -> bool:
    domain = address.rpartition("@")[2].lower()
    return any(domain == ours or domain.endswith("." + ours) for ours in domains)


def own_domains(config: Config) -> tuple[str, ...]:
    """Our domains: the support addresses' and [knowledge] own_domains. Addresses there stay in articles."""
    return tuple(dict.fromkeys(d.lower().strip(".") for d in (
        *(a.rpartition("@")[2] for a in config.support.addresses), *config.knowledge.own_domains) if d))


def ticket_text(found: TicketWords, report) -> str:
    """Everything the ticket says about its problem, in the fields an article has (`report`: a patrol
    report, or a Note not yet written)."""
    tags = " ".join(report.tags if isinstance(report.tags, (tuple, list)) else json.loads(report.tags or "[]"))
    return "\n".join((found.subject, found.customer_words, tags, report.situation, report.behaviour,
                      report.cause, report.outcome))


def article_text(article: Article, states: tuple[str, ...] = LIVE_STATES) -> str:
    """The words of the article's variants in `states`, every language: the one problem, however it was asked."""
    return "\n".join(variant_text(v) for v in article.variant_list if v.state in states)


def variant_text(variant) -> str:
    return "\n".join((variant.title, variant.issue, variant.environment, variant.resolution, variant.cause,
                      " ".join(variant.keyword_list)))


def best_match(text: str, states: tuple[str, ...] = LIVE_STATES) -> tuple[Article | None, float]:
    """The live article most like `text`, and how alike (0 to 1): its variant most like it, so a
    translation added to an article never makes it look less like the tickets it solved;
    (None, 0.0) when none shares a word."""
    ranked = ranked_matches(text, states, 1)
    return ranked[0] if ranked else (None, 0.0)


def ranked_matches(text: str, states: tuple[str, ...] = LIVE_STATES, limit: int = 3) -> list[tuple[Article, float]]:
    """The `limit` live articles most like `text`, most alike first (see best_match)."""
    found = detect(text)
    spoken = found.language if found is not None and found.confident else ""  # unsure: compared word by word
    counts = term_counts(text, spoken)
    if not counts:
        return []
    across = concept_counts(text, spoken)
    documents = indexed_documents()
    df = document_frequencies(sorted(counts))
    groups = _telling_groups(text, counts, df, documents)
    hits = match_groups(groups, states, _CANDIDATES, every=False)
    if not hits:
        return []
    candidates = {a.id: a for a in Article.with_variants(list(Article.select().where(
        Article.id.in_([h.article_id for h in hits]))))}
    vectors = {aid: _compared(a, states, spoken) for aid, a in candidates.items()}
    df.update(document_frequencies(sorted(({t for each in vectors.values() for v, _ in each for t in v}
                                           | set(across)) - set(df))))
    weight = lambda term: idf(df.get(term, 0), documents)  # noqa: E731
    # A variant in another language than the ticket's is compared by concepts (words.cosine, across).
    scored = [(max((cosine(across if other else counts, v, weight, top=_COMPARED_WORDS, across=other)
                    for v, other in vectors[aid]), default=0.0), aid)
              for aid in candidates]
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    return [(candidates[aid], score) for score, aid in scored[:limit] if score > 0]


def _compared(article: Article, states: tuple[str, ...], spoken: str) -> list[tuple[Counter, bool]]:
    """The variants to compare a ticket in `spoken` with, each with whether across languages: the one
    in the ticket's language if there is one (a translation, compared by coarser concepts, must not
    make an article look more alike than its own text in that language), else every one."""
    variants = [v for v in article.variant_list if v.state in states]
    mine = [v for v in variants if v.language == spoken]
    return [(concept_counts(variant_text(v), v.language), True) if spoken and v.language != spoken
            else (term_counts(variant_text(v), v.language), False) for v in (mine or variants)]


def _telling_groups(text: str, counts: Counter, df: dict, documents: int) -> list[tuple[str, ...]]:
    groups = query_groups(text)
    rank = lambda g: -max(counts[t] * idf(df.get(t, 0), documents) for t in g)  # noqa: E731
    return sorted(groups, key=rank)[:_QUERY_TERMS]


def clean_subject(subject: str) -> str:
    return " ".join(_REPLY_PREFIX.sub("", subject or "").split())


# Drafting ---------------------------------------------------------------------

def _draft(config: Config, ticket: Ticket, report: PatrolReport, agent: User | None, best_miss: float,
           wording: tuple[str, str] = ("", "")) -> Capture:
    ours = own_domains(config)
    found = ticket_words(ticket, ours)
    names = (*found.names, *_agent_names(agent))
    removed: list[Removed] = []

    marked: list[Removed] = []  # what each marked placeholder stands for, by its number

    def clean(text: str) -> str:
        result = redact(_shortened(text or ""), names=names, tag_format=config.threading.tag_format,
                        keep_domains=ours, order_pattern=config.knowledge.order_pattern, full_names=found.others)
        removed.extend(r for r in result.removed if r not in removed)
        return _mark(result, marked) if text and text.strip() else ""

    tags = [t for t in json.loads(report.tags or "[]")]
    note = {"situation": clean(report.situation), "behaviour": clean(report.behaviour),
            "outcome": clean(report.outcome), "outcome_kind": report.outcome_kind, "cause": clean(report.cause),
            "tags": tags}
    customer_words = clean(found.customer_words) or note["situation"]
    subject = clean(found.subject)
    fields = _render_fields(config, {
        "ticket": {"number": ticket.number, "subject": subject, "group": ticket.group_name or ""},
        "customer_words": customer_words, "note": note, "title": _title(subject, note["situation"])})
    title, steps = " ".join((wording[0] or "").split()), (wording[1] or "").strip()
    if title:  # the problem as the agent stated it on closing
        fields["title"] = " ".join(clean(title).split())[:300]
    edited = bool(steps) and " ".join(steps.split()) != " ".join((report.behaviour or "").split())
    if steps:  # the steps for the customer the agent wrote on closing
        fields["resolution"] = clean(steps)
    places = {name: _unmark(value, marked) for name, value in fields.items()}  # field -> (text, removals in order)
    fields = {name: text for name, (text, _) in places.items()}
    searched = _searched_words(ticket)
    keywords = _keywords(subject, customer_words, note, searched)
    text = ArticleText(keywords=tuple(keywords), **fields)
    # What the draft is written in (title, issue and resolution, as the migration judged old articles);
    # when the detector is unsure, the customer's language.
    language = language_of(text, unsure=tickets.writing_language(config, ticket.requester))
    article = create_article(text, agent, ticket=ticket, note=f"drafted from ticket #{ticket.number}",
                             language=language)
    link_article(article, ticket, "created", agent, report=report)
    _record_removals(article, language, places, [r for r in removed if r.kind not in PLACEHOLDERS])
    _mark_for_rewrite(article, text.resolution, language, edited)
    return Capture("drafted", article, best_miss, removed=tuple(removed), searched=tuple(searched))


def _mark_for_rewrite(article: Article, resolution: str, language: str, edited: bool) -> None:
    """A resolution that is the agent's account, not steps for the customer, waits in the review queue
    with a rewrite flag (cleared by the edit that makes it read as steps)."""
    if reads_as_diary(resolution, language):
        why = ("the resolution reads as the agent's diary (first person, past tense): rewrite it as the steps "
               "the customer takes")
    elif not edited:
        why = "the resolution is the closing note's behaviour as it was written: make it steps for the customer"
    else:
        return
    raise_flag(article, "rewrite", None, detail=why)


# What drafting took out, where, and putting one back ---------------------------------

# A placeholder of a redacted text is marked with its number while the article template places it in a
# field, so that each field knows what each of its placeholders stands for. Private-use characters:
# mail never carries them, and any left over (a title cut short) are taken out with the marks.
_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"
_MARKED = re.compile(f"{_MARK_OPEN}([0-9]+){_MARK_CLOSE}({PLACEHOLDER_RE.pattern})")
_STRAY_MARK = re.compile(f"{_MARK_OPEN}[0-9]*{_MARK_CLOSE}?|{_MARK_CLOSE}")


def _mark(result, marked: list[Removed]) -> str:
    """The redacted text with each placeholder numbered by what it stands for (kept in `marked`)."""
    pending = list(result.occurrences)
    pieces, at = [], 0
    for found in PLACEHOLDER_RE.finditer(result.text):
        if pending and PLACEHOLDERS.get(pending[0].kind) == found.group():
            pieces += [result.text[at:found.start()], f"{_MARK_OPEN}{len(marked)}{_MARK_CLOSE}"]
            at = found.start()
            marked.append(pending.pop(0))
    return "".join(pieces) + result.text[at:]


def _unmark(text: str, marked: list[Removed]) -> tuple[str, list[Removed]]:
    """The text without its marks, and what its marked placeholders stand for, in order."""
    found = [marked[int(match.group(1))] for match in _MARKED.finditer(text) if int(match.group(1)) < len(marked)]
    return _STRAY_MARK.sub("", _MARKED.sub(lambda match: match.group(2), text)), found


def _record_removals(article: Article, language: str, places: dict, blocks: list[Removed]) -> None:
    for field, (_, removals) in places.items():
        for position, removal in enumerate(removals):
            ArticleRemoval.create(article=article.id, language=language, field=field, position=position,
                                  kind=removal.kind, placeholder=PLACEHOLDERS[removal.kind], text=removal.text)
    for removal in blocks:  # a greeting or signature: listed, not put back
        ArticleRemoval.create(article=article.id, language=language, kind=removal.kind, text=removal.text)


def removals_of(article: Article, language: str) -> list[ArticleRemoval]:
    """What drafting took out of the article's `language` variant, field by field, in order."""
    return list(ArticleRemoval.select().where((ArticleRemoval.article == article.id)
                                              & (ArticleRemoval.language == language))
                .order_by(ArticleRemoval.field.desc(), ArticleRemoval.position, ArticleRemoval.id))


def restore_removal(article: Article, removal_id: int, user: User) -> Article:
    """Put one removal back where it was taken from: a new revision of the variant. Where the text was
    edited since, the first placeholder of its kind in the field is the one put back; refused when the
    field holds none, or the removal had no place (a greeting or signature) or is back already."""
    removal = ArticleRemoval.get_or_none((ArticleRemoval.id == removal_id) & (ArticleRemoval.article == article.id))
    if removal is None or not removal.field:
        raise ArticleRefused({"removal": N_("that was not taken out of a field of this article, so nothing "
                                            "can be put back")})
    if removal.restored_at is not None:
        raise ArticleRefused({"removal": N_("%(text)s is back in the article already", text=removal.text)})
    variant = get_variant(get_article(article.id), removal.language)  # as it is now, not as the caller read it
    current = ArticleText.of(variant)
    value = getattr(current, removal.field)
    pending = [r.id for r in ArticleRemoval.select(ArticleRemoval.id).where(
        (ArticleRemoval.article == article.id) & (ArticleRemoval.language == removal.language)
        & (ArticleRemoval.field == removal.field) & ArticleRemoval.restored_at.is_null())
        .order_by(ArticleRemoval.position)]
    places = list(PLACEHOLDER_RE.finditer(value))
    index = pending.index(removal.id)
    if index < len(places) and places[index].group() == removal.placeholder and len(places) == len(pending):
        place = places[index]
    else:  # edited since it was drafted: the first placeholder of its kind
        place = next((p for p in places if p.group() == removal.placeholder), None)
    if place is None:
        raise ArticleRefused({"removal": N_("the text no longer holds %(placeholder)s where %(text)s was taken out, "
                                            "so it cannot be put back; edit the article instead",
                                            placeholder=removal.placeholder, text=removal.text)})
    restored = value[:place.start()] + removal.text + value[place.end():]
    with database.atomic():
        changed = edit_article(article, dataclasses.replace(current, **{removal.field: restored}), user,
                               note=f"put back a {removal.kind} taken out when drafting", language=removal.language)
        ArticleRemoval.update(restored_at=utcnow(), restored_by=user.id).where(
            ArticleRemoval.id == removal.id).execute()
    return changed


_COPIED_CHARS = 4000  # of any one text copied into a draft: a pasted log stays on the ticket


def _shortened(text: str) -> str:
    """At most _COPIED_CHARS of a text, cut at a paragraph (or line) end, with the cut marked."""
    if len(text) <= _COPIED_CHARS:
        return text
    head = text[:_COPIED_CHARS]
    cut = max(head.rfind("\n\n"), head.rfind("\n"))
    return (head[:cut] if cut > _COPIED_CHARS // 2 else head).rstrip() + "\n[…]"


def _agent_names(agent: User | None) -> tuple[str, ...]:
    return tuple(n for n in ((agent.name, agent.username) if agent else ()) if n)


def _title(subject: str, situation: str) -> str:
    if len(content_words(PLACEHOLDER_RE.sub(" ", _unmark(subject, [])[0]))) >= 2:
        return subject[:300]
    first = _SENTENCE_END.split(situation.strip(), maxsplit=1)[0]
    if len(first) <= 120:
        return first
    return first[:120].rsplit(" ", 1)[0] + "…"


def _searched_words(ticket: Ticket) -> list[str]:
    rows = SearchLog.select(SearchLog.words).where(SearchLog.ticket == ticket.id).order_by(SearchLog.id)
    return list(dict.fromkeys(" ".join(r.words.split()) for r in rows if r.words.strip()))


def _keywords(subject: str, customer_words: str, note: dict, searched: list[str]) -> list[str]:
    bare = lambda text: PLACEHOLDER_RE.sub(" ", _unmark(text, [])[0])  # noqa: E731 - "[phone]" is no word of it
    extracted = weighted_keywords(
        [(bare(subject), 3.0), (bare(customer_words), 1.0), (bare(note["situation"]), 1.0),
         (bare(note["cause"]), 2.0), (bare(note["behaviour"]), 0.5)],
        document_frequencies, indexed_documents(), limit=_KEYWORDS)
    chosen: dict[str, str] = {}
    for keyword in (*searched, *note["tags"], *extracted):
        chosen.setdefault(keyword.casefold(), keyword[:64])
    return list(chosen.values())[:_KEYWORDS + len(searched)]


_BLOCKS = ("title", "issue", "environment", "resolution", "cause")


def _render_fields(config: Config, context: dict) -> dict[str, str]:
    name = config.knowledge.article_template
    folder = config.templates_dir / "articles"
    try:
        template = _environment(str(folder)).get_template(f"{name}.j2")
        rendered = {}
        for block in _BLOCKS:
            if block not in template.blocks:
                raise TemplateRefused(name, f"the article template has no {{% block {block} %}}", part="text")
            run = template.blocks[block](template.new_context(context))
            rendered[block] = "\n".join(line.rstrip() for line in "".join(run).strip().splitlines())
    except TemplateRefused:
        raise
    except TemplateError as exc:
        raise TemplateRefused(name, f"{type(exc).__name__}: {exc}", line=getattr(exc, "lineno", None)) from None
    rendered["title"] = " ".join(rendered["title"].split())
    return rendered


@lru_cache(maxsize=4)
def _environment(folder: str) -> SandboxedEnvironment:
    if not Path(folder).is_dir():
        raise TemplateRefused("articles", f"no article templates folder {folder}", part="")
    return SandboxedEnvironment(loader=FileSystemLoader(folder), undefined=StrictUndefined,
                                trim_blocks=True, lstrip_blocks=True, autoescape=False)


# Suggestions made again when the base learns ------------------------------------------

_REFRESHED_TICKETS = 200  # open tickets whose suggestions a validation makes again, the latest first
_BODY_CHARS = 2000  # as the ingest stage reads a mail: the start says what it is about


def suggestions_for(config: Config, subject: str, text: str, language: str = "") -> list:
    """The articles to offer for a mail (search.Hit, best first): at most [knowledge] suggestions, none
    scoring below suggest_floor, nor below suggest_share of the best one (slots 2 and 3 are not filled
    for their own sake)."""
    cfg = config.knowledge
    hits = [hit for hit in suggest(subject, text[:_BODY_CHARS], cfg.suggestions, language=language)
            if hit.score * 100 >= cfg.suggest_floor]
    return [hit for hit in hits if hit.score * 100 >= cfg.suggest_share * hits[0].score] if hits else []


def suggest_again(config: Config, limit: int = _REFRESHED_TICKETS) -> int:
    """After an article or variant is validated: the suggestions of the open tickets (the `limit` most
    recently changed) made again from their first mail, so the new knowledge is offered where it fits.
    Returns how many tickets' suggestions changed."""
    if not config.knowledge.suggest:
        return 0
    changed = 0
    open_tickets = (Ticket.select(Ticket.id, Ticket.subject).where(Ticket.status.in_(("new", "open", "pending")))
                    .order_by(Ticket.updated_at.desc()).limit(limit))
    for ticket in open_tickets:
        first = (Message.select(Message.subject, Message.body_visible, Message.body_text, Message.language)
                 .where((Message.ticket == ticket.id) & (Message.kind == "inbound") & Message.automatic.is_null())
                 .order_by(Message.id).first())
        if first is None:
            continue
        hits = suggestions_for(config, first.subject or ticket.subject, first.body_visible or first.body_text or "",
                               first.language or "")
        now = [(hit.article_id, rank) for rank, hit in enumerate(hits, start=1)]
        before = [(row.article_id, row.rank) for row in ArticleSuggestion.select().where(
            ArticleSuggestion.ticket == ticket.id).order_by(ArticleSuggestion.rank)]
        if now == before or not hits:
            continue
        with database.atomic():
            store_suggestions(ticket.id, hits, replace=True)
        changed += 1
    return changed


def store_suggestions(ticket_id: int, hits: list, replace: bool = False) -> None:
    """Keep `hits` (suggestions_for's) as the ticket's suggestions, in rank order; `replace`: in place of
    those it has (a new ticket has none, and is spared the statement)."""
    if replace:
        execute('DELETE FROM "article_suggestion" WHERE "ticket_id" = ?', (ticket_id,))
    for rank, hit in enumerate(hits, start=1):
        insert_fast(ArticleSuggestion, ticket=ticket_id, article=hit.article_id, rank=rank, score=hit.score)
