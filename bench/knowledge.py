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
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.mailgen import corpus
from daemon.config import load_config
from daemon.ingest import pipeline
from daemon.ingest.sources import spool
from daemon.knowledge import figures as kb_figures
from daemon.knowledge import search
from daemon.store import db
from daemon.store.db import database
from daemon.knowledge.articles import CHECKED_STATES, searchable
from daemon.store.models import Article, ArticleRevision, ArticleSuggestion, ArticleVariant, utcnow

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
    "nb": ["skriver", "skriveren", "skriverne", "toneren", "driver", "driveren", "oppdatering",
           "oppdateringen", "passord", "passordet", "e-post", "e-posten", "kalender", "kalenderen", "faktura",
           "fakturaen", "sertifikat", "sertifikatet", "skanner", "skanneren", "mappe", "mappen", "innlogging",
           "konto", "kontoen", "telefon", "telefonen", "skjerm", "skjermen", "nettverk", "sikkerhetskopi",
           "lisens", "lisensen", "feil", "feilen", "sider", "treg", "synkronisering", "møte", "møtet"],
}
_SYLLABLES = ["ka", "ro", "mi", "sta", "ven", "lo", "tri", "ber", "gu", "ne", "dor", "pi", "sel", "mar", "ku"]


def _tail_word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))


def _text(rng: random.Random, theme: list[str], vocabulary: list[str], length: int, tail: list[str]) -> str:
    chosen = []
    for _ in range(length):
        roll = rng.random()
        if roll < 0.2:
            chosen.append(rng.choice(theme))  # what the article is about
        elif roll < 0.21:
            chosen.append(rng.choice(vocabulary))  # the domain's other words, mentioned in passing
        else:  # Zipf-like: a few tail words are common, most are rare
            chosen.append(tail[min(int(rng.paretovariate(1.1)) - 1, len(tail) - 1)])
    return " ".join(chosen)


def build_base(count: int, state: str, seed: int = 7) -> None:
    """`count` articles written straight into the tables and the index, a thousand per transaction,
    then (their document frequencies known) the weights that suggestions read.

    Each article has a theme of three domain words, so a domain word is in a
    few percent of the articles, as "printer" is in a real base.
    """
    rng = random.Random(seed)
    tail = [_tail_word(rng) for _ in range(20_000)]
    now = utcnow()
    created = []
    for start in range(0, count, 1000):
        with database.atomic():
            for _ in range(start, min(count, start + 1000)):
                created.append(_article(rng, tail, state, now))
    if db.is_sqlite():
        db.execute("INSERT INTO \"article_fts\" (\"article_fts\") VALUES ('optimize')")
    if state in ("validated", "published"):
        for start in range(0, len(created), 1000):
            with database.atomic():
                for article in created[start:start + 1000]:
                    search.index_for_suggestions(searchable(article, CHECKED_STATES))


def _article(rng: random.Random, tail: list[str], state: str, now) -> Article:
    language = rng.choice(("en", "ru", "nb"))
    vocabulary = _VOCABULARY[language]
    theme = rng.sample(vocabulary, 3)

    def text(low: int, high: int) -> str:
        return _text(rng, theme, vocabulary, rng.randint(low, high), tail)

    article = Article.create(state=state, revision=1, created_at=now, updated_at=now)
    variant = ArticleVariant.create(
        article=article.id, language=language, title=text(4, 9).capitalize(), issue=text(20, 60),
        environment=text(4, 4), resolution=text(40, 160), cause=text(5, 20),
        keywords='["' + '", "'.join(theme) + '"]', state=state, created_at=now, updated_at=now)
    ArticleRevision.create(article=article.id, number=1, language=language, title=variant.title,
                           issue=variant.issue, environment=variant.environment, resolution=variant.resolution,
                           cause=variant.cause, keywords=variant.keywords, state=state, created_at=now)
    article.keep_variants([variant])
    search.index(searchable(article))
    return article


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
        asked = [" ".join(rng.choice(_VOCABULARY[rng.choice(("en", "ru", "nb"))])
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


def ingest_with_suggestions(mails: int = 3_000, articles: int = 20_000, rounds: int = 3) -> dict:
    """The pipeline over the same base, suggestions off and on in turn, `rounds` times each; medians."""
    raw = corpus(mails)
    rates: dict[bool, list[float]] = {False: [], True: []}
    stored = 0
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        db.open_database(_config(str(base)))
        db.upgrade()
        build_base(articles, "validated")
        db.database.close()
        for n in range(rounds):
            for suggest in ((False, True) if n % 2 == 0 else (True, False)):
                rate, count = _ingest_round(Path(tmp) / f"round{n}{int(suggest)}", base, raw, suggest)
                rates[suggest].append(rate)
                stored = count or stored
    off, on = statistics.median(rates[False]), statistics.median(rates[True])
    return {"benchmark": "pipeline_suggestions", "database": "sqlite", "mails": mails, "articles": articles,
            "rounds": rounds, "mails_per_second_suggestions_off": round(off, 1),
            "mails_per_second_suggestions_on": round(on, 1), "all_off": [round(r) for r in rates[False]],
            "all_on": [round(r) for r in rates[True]], "suggestions_stored": stored, "on_vs_off": round(on / off, 3)}


def _ingest_round(folder: Path, base: Path, raw: list[bytes], suggest: bool) -> tuple[float, int]:
    shutil.copytree(base, folder)
    config = _config(str(folder))
    config = dataclasses.replace(config, knowledge=dataclasses.replace(config.knowledge, suggest=suggest))
    db.open_database(config)
    for data in raw:
        spool.enqueue(data, "bench")
    started = time.perf_counter()
    pipeline.drain(config)
    rate = len(raw) / (time.perf_counter() - started)
    count = ArticleSuggestion.select().count()
    db.database.close()
    shutil.rmtree(folder)
    return rate, count
