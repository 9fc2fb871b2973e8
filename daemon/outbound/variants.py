"""Which language of a mail template goes to a reader: the team's variants and the built-in files.

A built-in template is one file per purpose and language: `NAME.txt.j2` is English (the base),
`NAME.nb.txt.j2` bokmål, `NAME.ru.txt.j2` Russian, each with its optional `.html.j2`. A team's
template is a row per language: "" its base text, used when no variant suits the reader. A team's
base text replaces the built-in files of its name altogether; a team's variant without a base
only adds (or replaces) that language beside the files. The reader gets their own language, else
a neighbour they read (nn gets nb), else `[support] default_language`, else English
(daemon.languages.choices), else the team's base text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from daemon.languages import FALLBACK, NEIGHBOURS, choices, normalise
from daemon.store import db

BASE_LANGUAGE = FALLBACK  # what NAME.txt.j2, a built-in's base file, is written in
TEAM, BUILT_IN = "team", "built-in"
BASE_TEXT = "base"  # what a person picks to have a team's base text go, whatever the reader's language
_VARIANT_FILE = re.compile(r"(?P<name>[A-Za-z0-9_-]{1,64})\.(?P<language>[a-z]{2,3})\.txt\.j2")


@dataclass(frozen=True)
class Variant:
    """The language of a template chosen for a reader, where it comes from, and what else there is."""
    name: str
    language: str  # "" : a team's base text, whose language is not stated
    source: str  # team, built-in
    wanted: str  # the reader's language
    available: tuple[tuple[str, str], ...]  # (language, source) of every variant, best for the reader first

    @property
    def theirs(self) -> bool:
        """The reader gets their own language (or a neighbour's they read: nn readers get nb)."""
        readable = (self.wanted, *NEIGHBOURS.get(self.wanted, ()))
        return bool(self.language) and self.language in readable


def file_of(name: str, language: str, folder: Path, suffix: str = "txt") -> Path:
    """The built-in file of `name` in `language` (the base file for English)."""
    if not language or language == BASE_LANGUAGE:
        return folder / f"{name}.{suffix}.j2"
    return folder / f"{name}.{language}.{suffix}.j2"


def builtin_languages(name: str, folder: Path) -> list[str]:
    """The languages the built-in `name` is written in (none: there is no such file)."""
    found = [BASE_LANGUAGE] if file_of(name, BASE_LANGUAGE, folder).is_file() else []
    if folder.is_dir():
        found += sorted(match["language"] for match in map(_VARIANT_FILE.fullmatch, _names(folder))
                        if match and match["name"] == name and match["language"] != BASE_LANGUAGE)
    return found


def builtin_names(folder: Path) -> list[str]:
    """The built-in templates' names: the base files and variant files of the folder, one name each."""
    if not folder.is_dir():
        return []
    names = set()
    for file_name in _names(folder):
        variant = _VARIANT_FILE.fullmatch(file_name)
        if variant:
            names.add(variant["name"])
        elif file_name.endswith((".txt.j2", ".html.j2")):
            names.add(file_name.rsplit(".", 2)[0])
    return sorted(names)


def _names(folder: Path) -> tuple[str, ...]:
    # Every acknowledgement asks: a listing costs 0.1 ms, a stat of the folder a few microseconds.
    return _listing(folder, folder.stat().st_mtime_ns)


@lru_cache(maxsize=16)
def _listing(folder: Path, _changed: int) -> tuple[str, ...]:
    return tuple(path.name for path in folder.iterdir())


def team_languages(name: str) -> list[str]:
    """The languages a team's template `name` has rows for ("" : its base text)."""
    rows = db.execute('SELECT "language" FROM "reply_template" WHERE "name" = ? ORDER BY "language"', (name,))
    return [language for (language,) in rows.fetchall()]


def choose(name: str, wanted: str, default: str, folder: Path, picked: str | None = None,
           team: list[str] | None = None) -> Variant | None:
    """The variant of `name` for a reader of `wanted` (or the one a person `picked`, when it exists);
    None when `name` is no template at all. `team` is team_languages(name), when already known."""
    team = team_languages(name) if team is None else team
    candidates = {} if "" in team else {language: BUILT_IN for language in builtin_languages(name, folder)}
    candidates.update({language: TEAM for language in team})
    if not candidates:
        return None
    wanted = normalise(wanted) or default
    readable = choices(wanted, [code for code in candidates if code], default)
    strangers = sorted(code for code in candidates if code and code not in readable)
    # Without a variant the reader reads, the team's base text goes before a stranger's language.
    ranked = [*readable, *([""] if "" in candidates else []), *strangers]
    chosen = "" if picked == BASE_TEXT else normalise(picked) if picked is not None else None
    if chosen not in candidates:
        chosen = ranked[0]
    available = tuple((code, candidates[code]) for code in ranked)
    return Variant(name=name, language=chosen, source=candidates[chosen], wanted=wanted, available=available)
