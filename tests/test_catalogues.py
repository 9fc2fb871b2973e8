"""The console's catalogues: every string the pages and the code mark for translation is translated,
in Norwegian bokmål and Russian, with the same placeholders as the English.

The strings are gathered the way `make messages` gathers them (the mapping of
web/translations/babel.cfg, the same keywords), straight from the sources, so a
string wrapped in a template but never put into the catalogues fails here, and
the failure names it.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "web" / "translations"
LANGUAGES = ("nb", "ru")
# As the Makefile's `messages` target asks pybabel.
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "N_": None}
PLURAL_FORMS = {"nb": 2, "ru": 3}


def marked_strings() -> dict[str, str]:
    """Every marked msgid (a plural by its singular) and the first file it was found in."""
    with open(TRANSLATIONS / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, str] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS,
            directory_filter=lambda path: not Path(path).name.startswith((".", "__pycache__", "node_modules"))):
        msgid = message[0] if isinstance(message, (tuple, list)) else message
        if msgid:
            found.setdefault(msgid, filename)
    return found


@pytest.fixture(scope="module")
def marked() -> dict[str, str]:
    return marked_strings()


def catalogue(language: str):
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=language)


def test_the_sources_mark_the_console_strings(marked):
    # A sanity check on the gathering itself: nav, a domain refusal, a plural.
    assert {"Queue", "missing: write %(ask)s", "Mail is read from %(num)d IMAP mailbox:"} <= set(marked)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_marked_string_is_translated(marked, language):
    messages = {message.id[0] if isinstance(message.id, tuple) else message.id: message
                for message in catalogue(language) if message.id}
    missing = sorted(f"{msgid!r} ({where})" for msgid, where in marked.items() if msgid not in messages)
    untranslated = sorted(f"{msgid!r} ({where})" for msgid, where in marked.items() if msgid in messages and (
        not all(messages[msgid].string if isinstance(messages[msgid].string, tuple) else [messages[msgid].string])
        or messages[msgid].fuzzy))
    assert not missing, f"not in the {language} catalogue (run `make messages`):\n  " + "\n  ".join(missing)
    assert not untranslated, f"untranslated or fuzzy in {language}:\n  " + "\n  ".join(untranslated)


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders_and_plural_forms(language):
    po = catalogue(language)
    assert po.num_plurals == PLURAL_FORMS[language], po.plural_forms
    faults = [f"{message.id!r}: {'; '.join(str(error) for error in errors)}" for message, errors in po.check()]
    assert not faults, f"{language}:\n  " + "\n  ".join(faults)


def test_the_compiled_catalogues_are_not_committed():
    # `make` builds them from the .po files; a committed .mo could go stale behind them.
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert "*.mo" in ignored
