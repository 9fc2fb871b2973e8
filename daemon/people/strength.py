"""The rule every new password meets: long enough, not the person's own name or address,
and hard to guess; a refusal gives a reason a person can act on.

Hard to guess is zxcvbn's estimate: common passwords, words, keyboard runs, repeats, dates.
"""
from __future__ import annotations

import threading

from zxcvbn import zxcvbn

from daemon.errors import PatroldeskError
from daemon.languages import N_

MIN_PASSWORD_LENGTH = 10
MIN_SCORE = 3  # zxcvbn's 0-4: 3 is "safely unguessable" against an online attack with some throttling
_ESTIMATED = 72  # zxcvbn refuses longer input; its first 72 characters are judged
_zxcvbn_lock = threading.Lock()  # zxcvbn keeps the user's own words in a module-level dictionary


class WeakPassword(PatroldeskError):
    """A new password the rule refuses; the message opens with "a password" and says why."""


def refuse_weak(password: str, own_words: tuple[str, ...] = ()) -> None:
    """Raise WeakPassword unless `password` meets the rule; `own_words` are the username, name, e-mail."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(N_("a password needs at least %(least)s characters", least=MIN_PASSWORD_LENGTH))
    words = [word.casefold() for word in _own_words(own_words)]
    if password.casefold() in words:
        raise WeakPassword(N_("a password must not be your username, name or e-mail address"))
    with _zxcvbn_lock:
        estimate = zxcvbn(password[:_ESTIMATED], user_inputs=words)
    if estimate["score"] < MIN_SCORE:
        raise WeakPassword(N_("a password must be harder to guess (strength %(score)s of 4, %(needed)s needed): "
                              "%(why)s", score=estimate["score"], needed=MIN_SCORE, why=_why(estimate)))


def _own_words(own_words: tuple[str, ...]) -> list[str]:
    """The words themselves, and an address's part before the @ and its name split at dots and spaces."""
    found = []
    for word in (w.strip() for w in own_words if w and w.strip()):
        found.append(word)
        if "@" in word:
            found.append(word.split("@", 1)[0])
        found.extend(part for part in word.replace("@", " ").replace(".", " ").split() if len(part) > 2)
    return found


def _why(estimate: dict) -> str:
    """zxcvbn's own words: what makes it guessable, and what would help."""
    feedback = estimate["feedback"]
    said = " ".join([feedback.get("warning") or "", *(feedback.get("suggestions") or [])]).strip()
    return said or N_("Use a few unrelated words, or more characters.")
