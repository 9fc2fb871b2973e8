"""The help center's server-side latency over 20,000 published variants: search pages and article pages.

The base is bench.knowledge's generated articles, each with one published
variant in English, Russian or Norwegian. Requests go through the whole Flask
application (routing, the search and its log row, rendering, headers) with its
test client, as an anonymous visitor with a session; the network is left out.
"""
from __future__ import annotations

import random
import re
import statistics
import tempfile
import time

from bench.knowledge import _VOCABULARY, _config, _percentile, build_base
from daemon.store import db
from daemon.store.models import ArticleVariant
from web import create_app

_LINK = re.compile(r'href="(/help/(?:en|ru|nb)/[0-9]+-[^"]+)"')


def latency(articles: int = 20_000, searches: int = 500, pages: int = 500) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        config = _config(tmp)
        db.open_database(config)
        db.upgrade()
        build_base(articles, "published")
        app = create_app(config)
        client = app.test_client()
        rng = random.Random(5)
        asked = [(language, " ".join(rng.choice(_VOCABULARY[language]) for _ in range(rng.randint(1, 3))))
                 for language in (rng.choice(("en", "ru", "nb")) for _ in range(searches))]
        search_ms, found, sizes = [], 0, []
        for language, words in asked:
            began = time.perf_counter()
            response = client.get("/help/search", query_string={"q": words, "lang": language})
            search_ms.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, response.status_code
            found += bool(_LINK.search(response.get_data(as_text=True)))
            sizes.append(len(response.data))
        variants = list(ArticleVariant.select(ArticleVariant.article, ArticleVariant.language).tuples())
        page_ms = []
        for article_id, language in rng.sample(variants, pages):
            first = client.get(f"/help/{language}/{article_id}")  # leads to the address with the title's words
            began = time.perf_counter()
            response = client.get(first.headers["Location"])
            page_ms.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, response.status_code
            sizes.append(len(response.data))
        db.database.close()
    return {"benchmark": "help_center", "database": "sqlite", "published_variants": articles,
            "searches": searches, "searches_finding_something": found, "article_pages": pages,
            "search_p50_ms": round(_percentile(search_ms, 0.50), 2),
            "search_p95_ms": round(_percentile(search_ms, 0.95), 2),
            "search_mean_ms": round(statistics.fmean(search_ms), 2),
            "article_p50_ms": round(_percentile(page_ms, 0.50), 2),
            "article_p95_ms": round(_percentile(page_ms, 0.95), 2),
            "largest_page_bytes": max(sizes), "target_search_p95_ms": 20, "target_page_bytes": 100_000}


if __name__ == "__main__":
    import json
    print(json.dumps(latency()))
