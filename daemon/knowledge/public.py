"""Where customers read a published variant: its address in the help center.

An address names the language and the article and ends in the title's words
(/help/nb/12-skriveren-viser-frakoblet): the words may change with the title, the
number and the language never do, so an old link still finds the article.
"""
from __future__ import annotations

import re

from daemon.config import Config
from daemon.store.models import ArticleVariant

HELP_PATH = "/help"
_NOT_WORD = re.compile(r"[^\w]+")
_SLUG_CHARS = 60


def slug(title: str) -> str:
    """The title's words for an address: lower case, joined by hyphens, at most about 60 characters."""
    words = _NOT_WORD.sub("-", title.casefold().replace("_", "-")).strip("-")
    if len(words) <= _SLUG_CHARS:
        return words or "article"
    return words[:_SLUG_CHARS].rsplit("-", 1)[0] or words[:_SLUG_CHARS]


def variant_path(variant: ArticleVariant) -> str:
    """The variant's page below the help center's root: "nb/12-skriveren-viser-frakoblet"."""
    return f"{variant.language}/{variant.article_id}-{slug(variant.title)}"


def help_root(config: Config) -> str:
    """Where customers reach the help center, without a trailing slash: [help] url; else its own host
    name (behind a proxy, so over TLS); else the console's own address."""
    if config.help.url:
        return config.help.url.rstrip("/")
    if config.help.host:
        return f"https://{config.help.host}{HELP_PATH}"
    host = config.web.host if config.web.host not in ("0.0.0.0", "::", "") else "localhost"
    port = "" if config.web.port in (80, 0) else f":{config.web.port}"
    return f"http://{host}{port}{HELP_PATH}"


def help_address(config: Config, variant: ArticleVariant) -> str:
    return f"{help_root(config)}/{variant_path(variant)}"
