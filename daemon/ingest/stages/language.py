"""Tell the language each mail is written in: kept on the message, and, when sure, on its sender.

Read from the subject and what the sender newly wrote (no quoted history, no signature), so a
Norwegian reply above a quoted English mail counts as Norwegian. Automatic mail (auto-replies,
bulk) is kept on the message but never decides the customer's language.
"""
from __future__ import annotations

from daemon import tickets
from daemon.mail.language import detect
from daemon.store.db import execute

# The detector reads about this much; the rest of a long mail is cut before quoting is looked at.
_SAMPLE_CHARS = 1200


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
    """The subject without its ticket tag, and the newly written lines (interleaved quotes dropped)."""
    lines = [line for line in visible[:_SAMPLE_CHARS].splitlines() if not line.lstrip().startswith(">")]
    return tickets.untagged(subject or "", tag_format) + "\n" + "\n".join(lines)
