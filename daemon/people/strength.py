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
    said = [_ZXCVBN.get(part, part) for part in (feedback.get("warning"), *(feedback.get("suggestions") or [])) if part]
    if not said:
        return N_("Use a few unrelated words, or more characters.")
    # Each part is said on its own in the console's language; the spaces between them stay.
    template = " ".join(f"%(part{n})s" for n in range(len(said)))
    return N_(template, **{f"part{n}": part for n, part in enumerate(said)})


# zxcvbn's feedback, word for word (zxcvbn/feedback.py), so that the console can say it in other languages.
_ZXCVBN = {text: text for text in (
    N_("Use a few words, avoid common phrases."),
    N_("No need for symbols, digits, or uppercase letters."),
    N_("Add another word or two. Uncommon words are better."),
    N_("Straight rows of keys are easy to guess."),
    N_("Short keyboard patterns are easy to guess."),
    N_("Use a longer keyboard pattern with more turns."),
    N_('Repeats like "aaa" are easy to guess.'),
    N_('Repeats like "abcabcabc" are only slightly harder to guess than "abc".'),
    N_("Avoid repeated words and characters."),
    N_('Sequences like "abc" or "6543" are easy to guess.'),
    N_("Avoid sequences."),
    N_("Recent years are easy to guess."),
    N_("Avoid recent years."),
    N_("Avoid years that are associated with you."),
    N_("Dates are often easy to guess."),
    N_("Avoid dates and years that are associated with you."),
    N_("This is a top-10 common password."),
    N_("This is a top-100 common password."),
    N_("This is a very common password."),
    N_("This is similar to a commonly used password."),
    N_("A word by itself is easy to guess."),
    N_("Names and surnames by themselves are easy to guess."),
    N_("Common names and surnames are easy to guess."),
    N_("Capitalization doesn't help very much."),
    N_("All-uppercase is almost as easy to guess as all-lowercase."),
    N_("Reversed words aren't much harder to guess."),
    N_("Predictable substitutions like '@' instead of 'a' don't help very much."),
)}
