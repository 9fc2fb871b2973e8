"""Searching the knowledge base as a person does, and what the searches and links say (KCS's evolve loop).

Every search a person makes is logged: the words, who, for which ticket,
how many articles it found and, once a ticket is linked to one of them,
which was used. Searches that found nothing, or nothing anyone used, are
the knowledge gaps. So is an article that customers of a language it has
no variant in are asked about (language_gaps: "needs a Russian variant"),
counted once per article and language. The figures: per article (one per
problem, however many languages) its reuse, last use, open flags, reopens,
age since validation, languages and the languages it needs; per agent and for the team the
link rate (closed tickets linked to an article), reuse against create,
articles created, improved and flagged, and SBO completeness: the share of
closing notes that give a cause and tags (the parts a note may leave out).
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from dataclasses import dataclass


from daemon.knowledge.search import search as search_index
from daemon.knowledge.words import concept_counts, idf, normal_query
from daemon.knowledge.articles import LIVE_STATES, TRANSITIONS, missing_languages, plain
from daemon.store.models import (
    Article, ArticleFeedback, ArticleFlag, ArticleLink, ArticleRevision, ArticleSuggestion, ArticleVariant, Customer, PatrolReport,
    SearchLog, Ticket, User, utcnow,
)


@dataclass(frozen=True)
class Found:
    article: Article
    score: float
    variant: ArticleVariant | None = None  # the variant the search matched best (its title is shown)


@dataclass(frozen=True)
class SearchResult:
    found: list[Found]
    log_id: int | None


def search_articles(text: str, user: User | None = None, ticket: Ticket | None = None, origin: str = "cli",
                    states: tuple[str, ...] = LIVE_STATES, limit: int = 10, log: bool = True) -> SearchResult:
    """Ranked articles for a person's words, and the search logged (unless `log` is False)."""
    hits = search_index(text, states, limit)
    articles = {a.id: a for a in Article.with_variants(list(Article.select().where(
        Article.id.in_([h.article_id for h in hits]))))}
    found = [Found(articles[h.article_id], h.score, _variant_of(articles[h.article_id], h))
             for h in hits if h.article_id in articles]
    log_id = None
    typed = " ".join(plain(text).split())
    if log and typed:
        log_id = SearchLog.create(words=typed[:500], normalized=normal_query(text)[:500],
                                  user=user, ticket=ticket.id if ticket else None, origin=origin,
                                  results=len(found), result_ids=json.dumps([f.article.id for f in found]),
                                  created_at=utcnow()).id
    return SearchResult(found, log_id)


def _variant_of(article: Article, hit) -> ArticleVariant | None:
    """The variant a hit names (the search says which suits best), else the article's primary one."""
    wanted = getattr(hit, "variant_id", None)
    return next((v for v in article.variant_list if v.id == wanted), None) or article.primary


@dataclass(frozen=True)
class Gap:
    """Searches for one thing that found nothing anyone used: however it was worded, in any language."""
    words: str  # the wording searched most often (the latest of those)
    searches: int
    found_nothing: int
    nothing_used: int  # found articles, none of which was then used
    tickets: int
    last_at: dt.datetime
    first_at: dt.datetime | None = None
    wordings: tuple[str, ...] = ()  # every distinct wording, most searched first
    ticket_numbers: tuple[int, ...] = ()  # the tickets searched for, by their public numbers

    def age_days(self, now: dt.datetime | None = None) -> int:
        return ((now or utcnow()) - (self.first_at or self.last_at)).days


GAP_ALIKE = 0.5  # weighted share of the words two searches have in common, of all their words, to be one search
GAP_COVERED = 0.6  # weighted share of a gap's words an article (created or linked since) must hold to close it
_GAP_SEARCHES = 5000  # the newest searches that are read to find gaps


def gaps(since: dt.datetime | None = None, min_searches: int = 2, limit: int = 20) -> list[Gap]:
    """The searches that keep finding nothing useful, most frequent first. Searches are one gap when they
    share most of their words, by stem and by the lexicon's concepts, so "printer offline", "printer shows
    offline" and "принтер офлайн" count together. A gap closes when an article created or linked after
    its first search holds most of its words: the knowledge it lacked has been written."""
    query = (SearchLog.select(SearchLog.id, SearchLog.words, SearchLog.results, SearchLog.ticket,
                              SearchLog.created_at)
             .where(SearchLog.used_article.is_null()).order_by(SearchLog.id.desc()).limit(_GAP_SEARCHES))
    if since:
        query = query.where(SearchLog.created_at >= since)
    rows = list(reversed(list(query)))
    keys = {row.id: frozenset(concept_counts(row.words)) for row in rows}
    spread = Counter(key for found in set(keys.values()) for key in found)
    wordings = len(set(keys.values())) or 1
    weight = lambda key: idf(spread[key], wordings)  # noqa: E731 - a word many searches share tells less
    groups: list[tuple[frozenset, list]] = []
    holding: dict[str, list[int]] = defaultdict(list)  # a word -> the groups whose first search has it
    for row in rows:
        mine = keys[row.id]
        if not mine:
            continue
        sharing = {index for key in mine for index in holding[key]}  # only these can be alike enough
        scored = [(_alike(groups[index][0], mine, weight), -index) for index in sharing]
        alike, index = max(scored, default=(0.0, 0))
        if alike >= GAP_ALIKE:
            groups[-index][1].append(row)
        else:
            for key in mine:
                holding[key].append(len(groups))
            groups.append((mine, [row]))
    open_groups = [(seed, members) for seed, members in groups if len(members) >= min_searches]
    closing = _articles_since(min((m[0].created_at for _, m in open_groups), default=None))
    still = [members for seed, members in open_groups
             if not any(_covers(words, seed, weight) for when, words in closing if when >= members[0].created_at)]
    numbers = dict(Ticket.select(Ticket.id, Ticket.number).where(Ticket.id.in_(
        list({row.ticket_id for members in still for row in members if row.ticket_id}))).tuples())
    found = [_gap(members, numbers) for members in still]
    found.sort(key=lambda gap: (-gap.searches, -gap.found_nothing, gap.words))
    return found[:limit]


def _alike(left: frozenset, right: frozenset, weight) -> float:
    union = left | right
    return sum(map(weight, left & right)) / sum(map(weight, union)) if union else 0.0


def _covers(article_words: frozenset, searched: frozenset, weight) -> bool:
    return sum(map(weight, searched & article_words)) >= GAP_COVERED * sum(map(weight, searched))


def _articles_since(moment: dt.datetime | None) -> list[tuple[dt.datetime, frozenset]]:
    """(when, words) of each live article created after `moment`, and of each linked to a ticket after it
    (at the link's time): the knowledge that may have closed a gap since."""
    if moment is None:
        return []
    created = {a.id: a.created_at for a in Article.select(Article.id, Article.created_at).where(
        (Article.created_at >= moment) & Article.state.in_(LIVE_STATES))}
    linked = defaultdict(list)
    for link in ArticleLink.select(ArticleLink.article, ArticleLink.created_at).where(
            ArticleLink.created_at >= moment):
        linked[link.article_id].append(link.created_at)
    ids = set(created) | set(linked)
    if not ids:
        return []
    words = {a.id: frozenset().union(*(concept_counts(_variant_words(v), v.language) for v in a.variant_list
                                       if v.state in LIVE_STATES))
             for a in Article.with_variants(list(Article.select().where(Article.id.in_(list(ids))
                                                                        & Article.state.in_(LIVE_STATES))))}
    return [(when, words[aid]) for aid in words for when in
            ([created[aid]] if aid in created else []) + linked.get(aid, [])]


def _variant_words(variant: ArticleVariant) -> str:
    return "\n".join((variant.title, variant.issue, variant.resolution, variant.cause,
                      " ".join(json.loads(variant.keywords or "[]"))))


def _gap(members: list, numbers: dict[int, int]) -> Gap:
    said = Counter(row.words for row in members)
    latest = {row.words: row.id for row in members}
    ordered = sorted(said, key=lambda words: (-said[words], -latest[words]))
    tickets = tuple(dict.fromkeys(row.ticket_id for row in members if row.ticket_id))
    nothing = sum(1 for row in members if row.results == 0)
    return Gap(words=ordered[0], searches=len(members), found_nothing=nothing, nothing_used=len(members) - nothing,
               tickets=len(tickets), last_at=members[-1].created_at, first_at=members[0].created_at,
               wordings=tuple(ordered), ticket_numbers=tuple(numbers[t] for t in tickets if t in numbers))


UNUSED_DAYS = 90  # an article no ticket was linked to for this long is listed for the reviewers


def content_health(now: dt.datetime | None = None, unused_days: int = UNUSED_DAYS, limit: int = 50) -> list[dict]:
    """The articles that need a reviewer's look (KCS content health): not used in `unused_days` days (or
    never, once that old), with open flags, or with tickets that came back after closing with them. Most
    reasons first, then the most reopened; each with why."""
    now = now or utcnow()
    stale = now - dt.timedelta(days=unused_days)
    flags = Counter(f.article_id for f in ArticleFlag.select(ArticleFlag.article).where(
        ArticleFlag.cleared_at.is_null()))
    found = []
    for article in Article.select().where(Article.state != "archived"):
        reasons = {}
        if (article.last_used_at or article.created_at) < stale:
            reasons["unused_days"] = (now - (article.last_used_at or article.created_at)).days
        if flags.get(article.id):
            reasons["open_flags"] = flags[article.id]
        if article.reopen_count:
            reasons["reopened"] = article.reopen_count
        if reasons:
            found.append({"article": article.id, "title": article.title, "state": article.state,
                          "last_used_at": _iso(article.last_used_at), **reasons})
    found.sort(key=lambda row: (-(len(row) - 4), -row.get("reopened", 0), -row.get("open_flags", 0), row["article"]))
    return found[:limit]


NEW_PROBLEM_COLUMNS = ("article", "title", "state", "languages", "created_at", "ticket", "tickets", "tags")


def new_problem_rows(found: list[dict]) -> list[list]:
    """new_problems() as table rows in NEW_PROBLEM_COLUMNS' order (for CSV): the languages space-separated."""
    return [[" ".join(row[key]) if key == "languages" else row[key] for key in NEW_PROBLEM_COLUMNS]
            for row in found]


def new_problems(since: dt.datetime | None = None) -> list[dict]:
    """The articles drafted from a ticket since `since` (the problems met for the first time), oldest
    first: number, title, state, languages, when, the ticket it came from, tickets linked to it since,
    and the tags it was filed under (its environment's first line)."""
    query = Article.select().where(Article.source_ticket.is_null(False)).order_by(Article.created_at, Article.id)
    if since:
        query = query.where(Article.created_at >= since)
    articles = Article.with_variants(list(query))
    counts = Counter(link.article_id for link in ArticleLink.select(ArticleLink.article).where(
        ArticleLink.article.in_([a.id for a in articles])))
    numbers = dict(Ticket.select(Ticket.id, Ticket.number).where(
        Ticket.id.in_([a.source_ticket_id for a in articles])).tuples())
    return [{"article": a.id, "title": a.title, "state": a.state, "languages": sorted(a.languages),
             "created_at": _iso(a.created_at), "ticket": numbers.get(a.source_ticket_id),
             "tickets": counts.get(a.id, 0),
             "tags": (a.primary.environment.splitlines() or [""])[0] if a.primary else ""} for a in articles]


@dataclass(frozen=True)
class LanguageGap:
    """An article that readers of `language` were sent to (linked or suggested on their tickets) and that
    has no variant they read: it needs one."""
    article_id: int
    language: str
    tickets: int  # their tickets linked to or suggested the article


def language_gaps(article_ids: list[int] | None = None) -> list[LanguageGap]:
    """Every live article's missing variants, once per article and language, most tickets first."""
    readers = _readers(article_ids)
    articles = Article.with_variants(list(Article.select().where(Article.id.in_(list(readers))
                                                                 & (Article.state != "archived"))))
    found = [LanguageGap(a.id, language, readers[a.id][language]) for a in articles
             for language in missing_languages(a, sorted(readers[a.id]))]
    return sorted(found, key=lambda gap: (-gap.tickets, gap.article_id, gap.language))


def _readers(article_ids: list[int] | None) -> dict[int, Counter]:
    """Per article, how many tickets of customers of each known language were linked to or suggested it."""
    seen: dict[int, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for model in (ArticleLink, ArticleSuggestion):
        query = (model.select(model.article, model.ticket, Customer.language).join(Ticket)
                 .join(Customer, on=(Ticket.requester == Customer.id)).where(Customer.language != ""))
        if article_ids is not None:
            query = query.where(model.article.in_(article_ids))
        for article_id, ticket_id, language in query.tuples():
            seen[article_id][language].add(ticket_id)
    return {aid: Counter({lang: len(ids) for lang, ids in langs.items()}) for aid, langs in seen.items()}


def variant_figures(gaps: list[LanguageGap] | None = None) -> dict:
    """One problem counts once: articles, their variants per language, and the articles that need a
    variant (per language, and in all); `gaps` when language_gaps() was read already."""
    live = Article.select(Article.id).where(Article.state != "archived")
    per_language = Counter(language for (language,) in ArticleVariant.select(ArticleVariant.language).where(
        ArticleVariant.article.in_(live) & (ArticleVariant.state != "archived")).tuples())
    gaps = language_gaps() if gaps is None else gaps
    return {"articles": live.count(), "variants": sum(per_language.values()),
            "variants_per_language": dict(sorted(per_language.items())),
            "articles_needing_a_variant": len({gap.article_id for gap in gaps}),
            "needed_per_language": dict(sorted(Counter(gap.language for gap in gaps).items()))}


def article_health(limit: int = 50, now: dt.datetime | None = None) -> list[dict]:
    """Per article that is not archived: reuse, last use, open flags, reopens, age since validation,
    its languages and the languages it needs (language_gaps)."""
    now = now or utcnow()
    flags = Counter(f.article_id for f in ArticleFlag.select(ArticleFlag.article).where(
        ArticleFlag.cleared_at.is_null()))
    rows = Article.with_variants(list(Article.select().where(Article.state != "archived")
                                      .order_by(Article.reuse_count.desc(), Article.id).limit(limit)))
    needs = defaultdict(list)
    for gap in language_gaps([a.id for a in rows]):
        needs[gap.article_id].append(gap.language)
    return [{
        "article": a.id, "title": a.title, "state": a.state, "reuse_count": a.reuse_count,
        "last_used_at": _iso(a.last_used_at), "open_flags": flags.get(a.id, 0), "reopens": a.reopen_count,
        "days_since_validation": (now - a.validated_at).days if a.validated_at else None,
        "revision": a.revision, "languages": {v.language: v.state for v in a.variant_list},
        "needs": sorted(needs[a.id]),
    } for a in rows]


def performance(since: dt.datetime | None = None) -> dict:
    """Per agent and for the team: link rate, reuse vs create, created, improved, flagged, SBO completeness."""
    closing = PatrolReport.select(PatrolReport.id, PatrolReport.ticket, PatrolReport.author, PatrolReport.cause,
                                  PatrolReport.tags).where(PatrolReport.kind == "closing")
    links = ArticleLink.select(ArticleLink.ticket, ArticleLink.kind, ArticleLink.user)
    revisions = ArticleRevision.select(ArticleRevision.author, ArticleRevision.note).where(ArticleRevision.number > 1)
    created = Article.select(Article.created_by)
    flagged = ArticleFlag.select(ArticleFlag.raised_by).where(ArticleFlag.raised_by.is_null(False))
    if since:
        closing = closing.where(PatrolReport.created_at >= since)
        links = links.where(ArticleLink.created_at >= since)
        revisions = revisions.where(ArticleRevision.created_at >= since)
        created = created.where(Article.created_at >= since)
        flagged = flagged.where(ArticleFlag.raised_at >= since)
    linked_tickets = {link.ticket_id for link in links}
    names = {u.id: u.username for u in User.select(User.id, User.username)}
    per: dict[str, Counter] = defaultdict(Counter)
    for report in closing:
        who = per[names.get(report.author_id, "(system)")]
        who["closed"] += 1
        who["linked"] += report.ticket_id in linked_tickets
        who["thorough"] += bool(report.cause.strip()) and bool(json.loads(report.tags or "[]"))
    for link in links:
        per[names.get(link.user_id, "(system)")]["reused" if link.kind != "created" else "drafted"] += 1
    for rev in revisions:
        if rev.note.split(":")[0] in TRANSITIONS:  # a change of state, not of content
            continue
        per[names.get(rev.author_id, "(system)")]["improved"] += 1
    for article in created:
        per[names.get(article.created_by_id, "(system)")]["created"] += 1
    for flag in flagged:
        per[names.get(flag.raised_by_id, "(system)")]["flagged"] += 1
    team = sum(per.values(), Counter())
    return {"agents": {name: _figures(counts) for name, counts in sorted(per.items())}, "team": _figures(team)}


def _figures(counts: Counter) -> dict:
    closed = counts["closed"]
    return {
        "closed": closed, "linked": counts["linked"],
        "link_rate": round(counts["linked"] / closed, 3) if closed else None,
        "reused": counts["reused"], "created": counts["created"],
        "reuse_vs_create": round(counts["reused"] / counts["created"], 3) if counts["created"] else None,
        "improved": counts["improved"], "flagged": counts["flagged"],
        # Notes with a cause and tags: S, B and O cannot be left out, so counting them would only set a floor.
        "sbo_completeness": round(counts["thorough"] / closed, 3) if closed else None,
    }


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat() + "Z"


def self_service(since: dt.datetime | None = None, article_ids: list[int] | None = None) -> dict:
    """Help-center readers' answers to "Did this solve it?" (KCS's self-service success): in all and per
    article variant, the yes and no and the share of yes; variants most answered first."""
    query = ArticleFeedback.select(ArticleFeedback.article, ArticleFeedback.language, ArticleFeedback.helpful)
    if since:
        query = query.where(ArticleFeedback.created_at >= since)
    if article_ids is not None:
        query = query.where(ArticleFeedback.article.in_(article_ids))
    counted: dict[tuple[int, str], Counter] = defaultdict(Counter)
    for row in query:
        counted[row.article_id, row.language]["yes" if row.helpful else "no"] += 1
    variants = [{"article": aid, "language": language, **_answers(counts)}
                for (aid, language), counts in counted.items()]
    variants.sort(key=lambda row: (-(row["yes"] + row["no"]), row["article"], row["language"]))
    return {**_answers(sum(counted.values(), Counter())), "variants": variants}


def _answers(counts: Counter) -> dict:
    answered = counts["yes"] + counts["no"]
    return {"yes": counts["yes"], "no": counts["no"],
            "success_rate": round(counts["yes"] / answered, 3) if answered else None}
