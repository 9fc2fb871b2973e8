"""Knowledge benchmarks: search latency over a large base, and ingest with suggestions on and off.

Search: N generated articles (English, Russian and Norwegian words, each
text mixing the domain's vocabulary with a long Zipf tail of rarer words),
then Q searches of one to three words in other inflections, through the
path a person's search takes (analysis, full-text query, articles read,
the search logged); p50, p95 and p99 in milliseconds.

Ingest: the benchmark corpus of mail through the pipeline twice on the same
base of checked articles, once with [knowledge] suggest off and once on.
"""
from __future__ import annotations

import dataclasses
import random
import statistics
import tempfile
import time

from bench.mailgen import corpus
from daemon import db, kb_figures, pipeline, search
from daemon.config import load_config
from daemon.db import database
from daemon.models import Article, ArticleRevision, ArticleSuggestion, utcnow
from daemon.sources import spool

# (stem forms as customers write them) per language: the words searches are made of.
_VOCABULARY = {
    "en": ["printer", "printers", "printing", "toner", "driver", "drivers", "update", "updates", "password",
           "passwords", "outlook", "mailbox", "calendar", "calendars", "invoice", "invoices", "vpn",
           "certificate", "scanner", "scanning", "folder", "folders", "login", "account", "accounts", "phone",
           "laptop", "screen", "network", "wifi", "backup", "restore", "license", "crash", "crashes", "error",
           "blank", "pages", "slow", "sync", "synchronising", "excel", "word", "teams", "meeting"],
    "ru": ["принтер", "принтера", "принтеры", "принтером", "драйвер", "драйвера", "обновление", "обновления",
           "пароль", "пароля", "почта", "почты", "календарь", "календаря", "счёт", "счета", "сертификат",
           "сертификата", "сканер", "сканера", "папка", "папки", "вход", "учётная", "запись", "телефон",
           "ноутбук", "экран", "сеть", "сети", "копия", "лицензия", "лицензии", "ошибка", "ошибки", "страницы",
           "медленно", "синхронизация", "таблица", "встреча"],
    "no": ["skriver", "skriveren", "skriverne", "toneren", "driver", "driveren", "oppdatering",
           "oppdateringen", "passord", "passordet", "e-post", "e-posten", "kalender", "kalenderen", "faktura",
           "fakturaen", "sertifikat", "sertifikatet", "skanner", "skanneren", "mappe", "mappen", "innlogging",
           "konto", "kontoen", "telefon", "telefonen", "skjerm", "skjermen", "nettverk", "sikkerhetskopi",
           "lisens", "lisensen", "feil", "feilen", "sider", "treg", "synkronisering", "møte", "møtet"],
}
_SYLLABLES = ["ka", "ro", "mi", "sta", "ven", "lo", "tri", "ber", "gu", "ne", "dor", "pi", "sel", "mar", "ku"]


def _tail_word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))


def _text(rng: random.Random, language: str, length: int, tail: list[str]) -> str:
    vocabulary = _VOCABULARY[language]
    chosen = []
    for _ in range(length):
        if rng.random() < 0.35:
            chosen.append(rng.choice(vocabulary))
        else:  # Zipf-like: a few tail words are common, most are rare
            chosen.append(tail[min(int(rng.paretovariate(1.1)) - 1, len(tail) - 1)])
    return " ".join(chosen)


def build_base(count: int, state: str, seed: int = 7) -> None:
    """`count` articles written straight into the tables and the index, in one transaction."""
    rng = random.Random(seed)
    tail = [_tail_word(rng) for _ in range(20_000)]
    now = utcnow()
    with database.atomic():
        for n in range(count):
            language = rng.choice(("en", "ru", "no"))
            article = Article.create(
                title=_text(rng, language, rng.randint(4, 9), tail).capitalize(),
                issue=_text(rng, language, rng.randint(20, 60), tail),
                environment=_text(rng, language, 4, tail),
                resolution=_text(rng, language, rng.randint(40, 160), tail),
                cause=_text(rng, language, rng.randint(5, 20), tail),
                keywords='["' + '", "'.join(rng.sample(_VOCABULARY[language], 3)) + '"]',
                language=language, state=state, created_at=now, updated_at=now)
            ArticleRevision.create(article=article.id, number=1, title=article.title, issue=article.issue,
                                   environment=article.environment, resolution=article.resolution,
                                   cause=article.cause, keywords=article.keywords, state=state, created_at=now)
            search.index(article)


def _config(tmp: str):
    base = load_config(None, {})
    return dataclasses.replace(base, database=dataclasses.replace(base.database, url=f"sqlite:///{tmp}/kb.db"),
                               paths=dataclasses.replace(base.paths, var=f"{tmp}/var"))


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def search_latency(articles: int = 20_000, queries: int = 1_000) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        db.open_database(_config(tmp))
        db.upgrade()
        started = time.perf_counter()
        build_base(articles, "validated")
        built = time.perf_counter() - started
        rng = random.Random(11)
        asked = [" ".join(rng.choice(_VOCABULARY[rng.choice(("en", "ru", "no"))])
                          for _ in range(rng.randint(1, 3))) for _ in range(queries)]
        timings, found = [], 0
        for text in asked:
            began = time.perf_counter()
            result = kb_figures.search_articles(text, origin="bench")
            timings.append((time.perf_counter() - began) * 1000)
            found += bool(result.found)
        db.database.close()
    return {"benchmark": "kb_search", "database": "sqlite", "articles": articles, "queries": queries,
            "index_seconds": round(built, 1), "found_something": found,
            "p50_ms": round(_percentile(timings, 0.50), 2), "p95_ms": round(_percentile(timings, 0.95), 2),
            "p99_ms": round(_percentile(timings, 0.99), 2), "mean_ms": round(statistics.fmean(timings), 2),
            "target_p95_ms": 20}


def ingest_with_suggestions(mails: int = 3_000, articles: int = 2_000) -> dict:
    raw = corpus(mails)
    figures = {}
    for suggest in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            base = _config(tmp)
            config = dataclasses.replace(base, knowledge=dataclasses.replace(base.knowledge, suggest=suggest))
            db.open_database(config)
            db.upgrade()
            build_base(articles, "validated")
            for data in raw:
                spool.enqueue(data, "bench")
            started = time.perf_counter()
            pipeline.drain(config)
            seconds = time.perf_counter() - started
            figures[suggest] = (round(mails / seconds, 1), ArticleSuggestion.select().count())
            db.database.close()
    (off, _), (on, stored) = figures[False], figures[True]
    return {"benchmark": "pipeline_suggestions", "database": "sqlite", "mails": mails, "articles": articles,
            "mails_per_second_suggestions_off": off, "mails_per_second_suggestions_on": on,
            "suggestions_stored": stored, "on_vs_off": round(on / off, 3)}

