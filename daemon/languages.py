"""The languages patroldesk knows: which it detects in customer mail, and which it speaks itself.

Codes are ISO 639-1 as Babel spells them ("nb" Norwegian bokmål, "nn" nynorsk).

Messages a person reads are written `N_("... %(name)s ...", name=value)`:
in English wherever they are turned into text (the CLI, the log), and
carrying their template and parameters so that the console can say them
in the agent's language (`Text.translated`). `N_` is also the keyword
`pybabel extract` looks for, so the catalogues hold every such message.
"""
from __future__ import annotations

# What customer mail is recognised in (daemon.mail.language).
DETECTED = ("en", "nb", "nn", "ru", "sv", "da", "de", "fr", "uk")
# What the console and the built-in customer mail are written in.
SHIPPED = ("en", "nb", "ru")
FALLBACK = "en"
# Close enough that a reader of one reads the other: nynorsk readers get bokmål before English.
NEIGHBOURS = {"nn": ("nb",), "no": ("nb",), "da": ("nb",), "sv": ("nb",), "uk": ("ru",)}


def normalise(code: str) -> str:
    """A language tag as kept here: lower case, the primary subtag only ("nb-NO" -> "nb", "no" -> "nb")."""
    code = (code or "").strip().lower().replace("_", "-").split("-")[0]
    return "nb" if code == "no" else code


def choices(wanted: str, available, default: str = FALLBACK) -> list[str]:
    """Languages to try for a reader of `wanted`, best first, among `available`.

    The language itself, then a neighbour its reader understands, then the
    installation's default, then English.
    """
    order = [normalise(wanted), *NEIGHBOURS.get(normalise(wanted), ()), normalise(default), FALLBACK]
    seen: list[str] = []
    for code in order:
        if code and code in available and code not in seen:
            seen.append(code)
    return seen


def best(wanted: str, available, default: str = FALLBACK) -> str | None:
    """The one language of `available` to use for a reader of `wanted` (None: none of them will do)."""
    found = choices(wanted, available, default)
    return found[0] if found else None


def name(code: str, in_language: str = FALLBACK) -> str:
    """The language's name as a reader of `in_language` writes it ("ru" in "nb": "russisk")."""
    from babel import Locale, UnknownLocaleError
    try:
        return Locale.parse(in_language or FALLBACK).languages.get(normalise(code), code)
    except (ValueError, UnknownLocaleError):
        return code


class Text(str):
    """A message in English that remembers how it was made, to be said again in another language."""

    template: str
    params: dict

    def __new__(cls, template: str, **params):
        text = super().__new__(cls, template % params if params else template)
        text.template, text.params = template, params
        return text

    def translated(self, gettext) -> str:
        """The message in the language of `gettext` (parameters that are Text are translated too)."""
        params = {key: value.translated(gettext) if isinstance(value, Text) else value
                  for key, value in self.params.items()}
        said = gettext(self.template)
        return said % params if params else said

    def __reduce__(self):
        return _text, (self.template, self.params)


def _text(template: str, params: dict) -> Text:
    return Text(template, **params)


def N_(template: str, **params) -> Text:
    """Mark `template` for the catalogues; with `params`, filled in (`%(name)s`) as English text."""
    return Text(template, **params)


def said(value, gettext) -> str:
    """An exception's or a Text's message in the language of `gettext`; anything else as it reads."""
    if isinstance(value, BaseException):
        value = value.args[0] if len(value.args) == 1 and isinstance(value.args[0], Text) else str(value)
    return value.translated(gettext) if isinstance(value, Text) else str(value)
