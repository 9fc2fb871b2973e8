"""Tell the language each mail is written in: kept on the message, and, when sure, on its sender.

Read from what the sender newly wrote (no quoted history, no signature), so a Norwegian reply
above a quoted English mail counts as Norwegian; the subject only helps out a short text (in a
reply it is most often the first mail's subject, in whatever language that was). Automatic mail
(auto-replies, bulk) is kept on the message but never decides the customer's language. Mail from
the help center's contact form is in the language the visitor read the help center in, unless its
text is surely in another.
"""
from __future__ import annotations

import json

from daemon import tickets
from daemon.languages import DETECTED, NEIGHBOURS, normalise
from daemon.mail.language import Detected, detect
from daemon.store.db import execute

# The start of what they wrote tells; the detector's cost grows with the text (about 0.1 ms for this much).
_SAMPLE_CHARS = 120
# A text with fewer letters than this is read together with the subject.
_ENOUGH_LETTERS = 60


def run(ctx) -> None:
    if ctx.message is None:
        return
    if ctx.prepared is not None:  # told in another process, and stored with the message
        found = ctx.prepared.language
    else:
        found = detect_for(ctx.mail, ctx.config)
        if found is not None:
            execute('UPDATE "message" SET "language" = ?, "language_confidence" = ? WHERE "id" = ?',
                    (found.language, found.confidence, ctx.message.id))
    chosen = _page_language(ctx, found)
    if chosen is not found:
        found = chosen
        execute('UPDATE "message" SET "language" = ?, "language_confidence" = ? WHERE "id" = ?',
                (found.language, found.confidence, ctx.message.id))
    ctx.language = found
    if found is None:
        return
    ctx.message.language, ctx.message.language_confidence = found.language, found.confidence
    if found.confident and not ctx.automatic and ctx.sender is not None:
        tickets.learn_language(ctx.sender.key, found.language)


def _page_language(ctx, found: Detected | None) -> Detected | None:
    """For mail from the help center's contact form, the language the visitor read the help center in,
    unless the text is surely in another (not merely a neighbour: short Norwegian reads as Danish)."""
    if ctx.inbound.origin != "help":
        return found
    page = normalise(json.loads(ctx.inbound.origin_detail or "{}").get("trail", {}).get("language", ""))
    if page not in DETECTED:
        return found
    if found is not None and found.confident and found.language != page \
            and page not in NEIGHBOURS.get(found.language, ()):
        return found
    return Detected(page, 1.0, max(found.letters if found else 0, _ENOUGH_LETTERS))


def detect_for(mail, config) -> Detected | None:
    """The language of what the mail's sender newly wrote; needs no database."""
    return detect(_sample(mail.subject, mail.visible_text, config.threading.tag_format))


def warm_up() -> None:
    """Load the detector's models now (a process that prepares mail does so when it starts)."""
    detect("warm up the language detector with a sentence that has enough letters in it")


def _sample(subject: str, visible: str, tag_format: str) -> str:
    """The start of the newly written lines (interleaved quotes dropped), after the subject (without
    its ticket tag) when they are short."""
    lines = [line for line in visible[:_SAMPLE_CHARS * 2].splitlines() if not line.lstrip().startswith(">")]
    text = "\n".join(lines)[:_SAMPLE_CHARS]
    if sum(map(str.isalpha, text)) >= _ENOUGH_LETTERS:
        return text
    return tickets.untagged(subject or "", tag_format) + "\n" + text
