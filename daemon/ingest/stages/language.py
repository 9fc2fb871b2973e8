"""Tell the language each mail is written in: kept on the message, and, when sure, on its sender.

Read from what the sender newly wrote (no quoted history, no signature), so a Norwegian reply
above a quoted English mail counts as Norwegian; the subject only helps out a short text (in a
reply it is most often the first mail's subject, in whatever language that was). Automatic mail
(auto-replies, bulk) is kept on the message but never decides the customer's language.
"""
from __future__ import annotations

from daemon import tickets
from daemon.mail.language import detect
from daemon.store.db import execute

# The start of what they wrote tells; the detector's cost grows with the text (about 0.2 ms for this much).
_SAMPLE_CHARS = 200
# A text with fewer letters than this is read together with the subject.
_ENOUGH_LETTERS = 60


def run(ctx) -> None:
    if ctx.message is None:
        return
    found = detect(_sample(ctx.mail.subject, ctx.mail.visible_text, ctx.config.threading.tag_format))
    ctx.language = found
    if found is None:
        return
    execute('UPDATE "message" SET "language" = ?, "language_confidence" = ? WHERE "id" = ?',
            (found.language, found.confidence, ctx.message.id))
    ctx.message.language, ctx.message.language_confidence = found.language, found.confidence
    if found.confident and not ctx.automatic and ctx.sender is not None:
        tickets.learn_language(ctx.sender.key, found.language)


def _sample(subject: str, visible: str, tag_format: str) -> str:
    """The start of the newly written lines (interleaved quotes dropped), after the subject (without
    its ticket tag) when they are short."""
    lines = [line for line in visible[:_SAMPLE_CHARS * 2].splitlines() if not line.lstrip().startswith(">")]
    text = "\n".join(lines)[:_SAMPLE_CHARS]
    if sum(ch.isalpha() for ch in text) >= _ENOUGH_LETTERS:
        return text
    return tickets.untagged(subject or "", tag_format) + "\n" + text
