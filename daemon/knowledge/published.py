"""Published variants as the help center shows them: one page, the most used, search, and readers' answers.

Only a published variant is ever shown or found here; a draft, a variant not
validated or an archived article is as if it did not exist (public gives each
page its address). A reader's "Did this solve it?" is kept per variant with
nothing about the reader (figures.self_service counts them), and a search is
logged with its words and results only, so searches that find nothing become
knowledge gaps like agents' do.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from daemon.errors import NotFound, PatroldeskError
from daemon.knowledge.articles import plain
from daemon.knowledge.search import search as search_index
from daemon.knowledge.words import normal_query
from daemon.languages import N_, normalise
from daemon.store.models import Article, ArticleFeedback, ArticleVariant, SearchLog, utcnow

PUBLISHED = ("published",)
COMMENT_CHARS = 2000


@dataclass(frozen=True)
class Page:
    """A published variant with its article, as a help page shows it."""
    article: Article
    variant: ArticleVariant
    others: tuple[ArticleVariant, ...] = ()  # the article's other published variants (the language switch)


def page(article_id: int, language: str) -> Page:
    """The published `language` variant of the article; NotFound for anything not published."""
    article = Article.get_or_none((Article.id == article_id) & (Article.state == "published"))
    found = Article.with_variants([article])[0].variant(normalise(language)) if article else None
    if found is None or found.state != "published":
        raise NotFound(N_("no published article %(id)s in %(language)s", id=article_id, language=language))
    others = tuple(v for v in article.variant_list if v.state == "published" and v.id != found.id)
    return Page(article, found, tuple(sorted(others, key=lambda v: v.language)))


def most_used(language: str, limit: int = 10) -> list[Page]:
    """The most reused published articles, each in `language` where it is published in it, else in
    its oldest published language."""
    articles = Article.with_variants(list(
        Article.select().where(Article.state == "published")
        .order_by(Article.reuse_count.desc(), Article.last_used_at.desc(nulls="LAST"), Article.id).limit(limit)))
    return [Page(article, _readable(article, language)) for article in articles if _readable(article, language)]


def _readable(article: Article, language: str) -> ArticleVariant | None:
    published = [v for v in article.variant_list if v.state == "published"]
    return next((v for v in published if v.language == language), None) or min(
        published, key=lambda v: v.id, default=None)


@dataclass(frozen=True)
class Found:
    pages: list[Page]
    log_id: int | None


def search(text: str, language: str, limit: int = 20) -> Found:
    """Published variants for a reader's words (their language's variant where the article has one),
    and the search logged as a help-center search: the words and what was found, nobody's name."""
    hits = search_index(text, PUBLISHED, limit, normalise(language))
    variants = {v.id: v for v in ArticleVariant.select(ArticleVariant, Article).join(Article).where(
        ArticleVariant.id.in_([h.variant_id for h in hits if h.variant_id]) & (ArticleVariant.state == "published"))}
    pages = [Page(variants[h.variant_id].article, variants[h.variant_id]) for h in hits if h.variant_id in variants]
    typed = " ".join(plain(text).split())
    log_id = None
    if typed:
        log_id = SearchLog.create(words=typed[:500], normalized=normal_query(text)[:500], origin="help",
                                  results=len(pages), result_ids=json.dumps([p.article.id for p in pages]),
                                  created_at=utcnow()).id
    return Found(pages, log_id)


def opened_from_search(log_id: int, article_id: int) -> None:
    """A reader opened one of the articles their search found: the search found something used."""
    found = SearchLog.get_or_none((SearchLog.id == log_id) & (SearchLog.origin == "help")
                                  & SearchLog.used_article.is_null())
    if found is not None and article_id in json.loads(found.result_ids or "[]"):
        SearchLog.update(used_article=article_id, used_at=utcnow()).where(SearchLog.id == log_id).execute()


class FeedbackRefused(PatroldeskError):
    """An answer to "Did this solve it?" that cannot be kept."""


def record_feedback(shown: Page, helpful: bool, comment: str = "") -> ArticleFeedback:
    """Keep a reader's answer on the variant they read (the comment cut to COMMENT_CHARS)."""
    if shown.variant.state != "published":
        raise FeedbackRefused(N_("that article is not published"))
    text = plain(comment).strip()[:COMMENT_CHARS]
    return ArticleFeedback.create(article=shown.article.id, language=shown.variant.language, helpful=helpful,
                                  comment=text, created_at=utcnow())
