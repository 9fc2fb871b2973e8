"""Customer specifics out of text that becomes a knowledge article.

`redact(text, names, tag_format, keep_domains, order_pattern, full_names)` promises:

- e-mail addresses, phone numbers, ticket references, the customer's names and
  the credentials in URLs are replaced by placeholders ([email], [phone],
  [ticket], [name], [credentials]), and so are VAT and organisation numbers,
  IBANs, payment card numbers, national identity numbers (daemon.knowledge.identifiers)
  and order numbers matching the team's pattern ([vat-id], [iban], [card],
  [id-number], [order]);
- an address at one of `keep_domains` (ours: the support addresses' domains
  and our products') stays, for a step may need it;
- `full_names` (third persons: people copied in, names under a signature)
  are taken only as written whole, or by their last name, capitalised;
- a greeting line at the very top and a sign-off or signature block at the end
  are dropped whole, and so are "Sent from my iPhone" lines;
- every removal is reported in `removed`, in order of appearance, once per
  distinct kind and text, with the exact text that was taken out;
- line breaks are kept, runs of blank lines collapse to one, the ends are
  stripped; nothing is reflowed;
- a line left with nothing but placeholders, labels and punctuation
  ("[name], тел. [phone]") is dropped whole;
- text with real content never comes back empty: if dropping the greeting,
  the signature and such lines would leave nothing, they stay and only
  placeholders go in;
- it never raises, whatever the text.

It is a heuristic tuned to English, Norwegian and Russian mail. Where it must
guess, it guesses towards keeping the customer's description of the problem.
"""
from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from daemon.knowledge.identifiers import cards, ibans, national_ids, vat_numbers

KINDS = ("greeting", "signature", "email", "url-with-credentials", "ticket-ref", "phone", "name", "vat-id",
         "iban", "card", "id-number", "order")
PLACEHOLDERS = {
    "email": "[email]",
    "url-with-credentials": "[credentials]",
    "ticket-ref": "[ticket]",
    "phone": "[phone]",
    "name": "[name]",
    "vat-id": "[vat-id]",
    "iban": "[iban]",
    "card": "[card]",
    "id-number": "[id-number]",
    "order": "[order]",
}
# Any placeholder, as it stands in redacted text: never a word of the article's own (a keyword, say).
PLACEHOLDER_RE = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS.values()))

SHORT_LINE = 60
MAX_SIGNATURE_LINES = 5
MIN_PHONE_DIGITS = 7
MAX_PHONE_DIGITS = 15
MAX_PHONE_GROUPS = 6

# Stands in for text already claimed by a finder, so later finders cannot match
# inside it; no finder matches it, and it is a word boundary for all of them.
_MASK = "\x00"


@dataclass(frozen=True)
class Removed:
    kind: str
    text: str


@dataclass(frozen=True)
class Redacted:
    text: str
    removed: tuple[Removed, ...]
    # What each placeholder in `text` stands for, in order (a removal once for each place it was taken from).
    occurrences: tuple[Removed, ...] = ()


Span = tuple[int, int]
Finder = Callable[[str], Iterable[Span]]


def redact(text: str, names: Iterable[str] = (), tag_format: str = "[#{ref}]", keep_domains: Iterable[str] = (),
           order_pattern: str = "", full_names: Iterable[str] = ()) -> Redacted:
    """`text` without customer specifics, and what was taken out (see the module docstring)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    finders = _finders(tuple(names), tag_format, tuple(d.lower().strip(".") for d in keep_domains if d),
                       order_pattern, tuple(full_names))
    result = _assemble(lines, _line_kinds(lines), finders)
    if text.strip() and not result.text:
        result = _assemble(lines, [None] * len(lines), finders, drop_debris=False)
    return result


# Putting the result together ----------------------------------------------

def _assemble(lines: list[str], kinds: list[str | None], finders: list[tuple[str, Finder]],
              drop_debris: bool = True) -> Redacted:
    """Lines with a kind are dropped as one block per run; the others get placeholders."""
    found: list[tuple[int, int, Removed]] = []
    kept: list[str] = []
    debris: set[int] = set()
    for index, line in enumerate(lines):
        if kinds[index] is None:
            replaced, removals = _replace_inline(line, finders)
            found += [(index, column, removed) for column, removed in removals]
            if drop_debris and removals and _only_debris(replaced):
                debris.add(index)  # "[name], тел. [phone]": nothing left to say once the specifics went
                continue
            kept.append(replaced)
    inline = tuple(removed for index, _, removed in sorted(found, key=lambda item: (item[0], item[1]))
                   if index not in debris)
    found += [(index, 0, removed) for index, removed in _blocks(lines, kinds)]
    found.sort(key=lambda item: (item[0], item[1]))
    return Redacted(_tidy(kept), _unique(removed for _, _, removed in found), inline)


# What stays of a line of contact details once they are taken out: labels, joins and punctuation.
_DEBRIS_WORDS = frozenset("""
    tel tlf telefon phone mobile mob mobil cell fax e-mail email e-post epost mail post address adresse name navn
    contact kontakt kontaktinfo org nr no iban vat mva card kort order ordre ref and or og eller at på
    тел телефон моб мобильный факс почта эл адрес имя контакт контакты инн заказ карта и или
    """.split())


def _only_debris(line: str) -> bool:
    """Whether a line with placeholders in it says nothing else (labels, joins and punctuation only)."""
    rest = PLACEHOLDER_RE.sub(" ", line)
    words = [word for word in re.findall(r"[^\W_]+(?:-[^\W_]+)*", rest.lower()) if word not in _DEBRIS_WORDS]
    return not words


def _blocks(lines: list[str], kinds: list[str | None]) -> Iterator[tuple[int, Removed]]:
    """Each run of consecutive lines of one kind, as a removal, with the index of its first line."""
    start = 0
    for index in range(1, len(lines) + 1):
        if index == len(lines) or kinds[index] != kinds[start]:
            kind = kinds[start]
            block = "\n".join(lines[start:index]).strip()
            if kind is not None and block:
                yield start, Removed(kind, block)
            start = index


def _tidy(lines: list[str]) -> str:
    """Trailing spaces off, blank-line runs down to one blank line, the ends stripped."""
    tidy: list[str] = []
    for line in (line.rstrip() for line in lines):
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy).strip()


def _unique(removals: Iterable[Removed]) -> tuple[Removed, ...]:
    return tuple(dict.fromkeys(removals))


def _replace_inline(line: str, finders: list[tuple[str, Finder]]) -> tuple[str, list[tuple[int, Removed]]]:
    """The line with each claimed span replaced by its placeholder, and the removals by column."""
    pieces: list[str] = []
    removals: list[tuple[int, Removed]] = []
    at = 0
    for start, end, kind in _claim(line, finders):
        pieces += [line[at:start], PLACEHOLDERS[kind]]
        removals.append((start, Removed(kind, line[start:end])))
        at = end
    pieces.append(line[at:])
    return "".join(pieces), removals


def _claim(line: str, finders: list[tuple[str, Finder]]) -> list[tuple[int, int, str]]:
    """Spans of the line, by kind; each finder sees the line with earlier finders' spans masked."""
    masked = line
    claimed: list[tuple[int, int, str]] = []
    for kind, find in finders:
        spans = [(start, end) for start, end in find(masked) if start < end]
        claimed += [(start, end, kind) for start, end in spans]
        for start, end in spans:
            masked = masked[:start] + _MASK * (end - start) + masked[end:]
    return sorted(claimed)


def _finders(names: tuple[str, ...], tag_format: str, keep_domains: tuple[str, ...], order_pattern: str,
             full_names: tuple[str, ...]) -> list[tuple[str, Finder]]:
    """What to look for, in order: earlier finders win where matches would overlap."""
    finders: list[tuple[str, Finder]] = [
        ("url-with-credentials", _regex_finder(_URL_CREDENTIALS, "userinfo")),
        ("email", _addresses_but(keep_domains)),
    ]
    tag = _tag_pattern(tag_format)
    if tag is not None:
        finders.append(("ticket-ref", _regex_finder(tag)))
    order = _order_pattern(order_pattern)
    if order is not None:
        finders.append(("order", _regex_finder(order)))
    finders += [
        ("ticket-ref", _regex_finder(_TICKET_WORD)),
        ("ticket-ref", _regex_finder(_TICKET_HASH)),
        ("iban", ibans),
        ("vat-id", vat_numbers),
        ("card", cards),
        ("id-number", national_ids),
        ("phone", _regex_finder(_PHONE_LABELLED, "number")),
        ("phone", _grouped_phones),
    ]
    pattern = _name_pattern(names)
    if pattern is not None:
        finders.append(("name", _regex_finder(pattern)))
    pattern = _full_name_pattern(full_names)
    if pattern is not None:
        finders.append(("name", _regex_finder(pattern)))
    return finders


def _addresses_but(keep_domains: tuple[str, ...]) -> Finder:
    """Mail addresses, except those at one of `keep_domains` or below it."""
    def find(line: str) -> Iterator[Span]:
        for match in _EMAIL.finditer(line):
            domain = match.group().rpartition("@")[2].lower()
            if not any(domain == kept or domain.endswith("." + kept) for kept in keep_domains):
                yield match.span()
    return find


def _order_pattern(pattern: str) -> re.Pattern[str] | None:
    """The team's order numbers as whole words; None when none are configured (or the pattern is bad)."""
    if not pattern.strip():
        return None
    try:
        compiled = re.compile(pattern)
    except re.error:
        return None  # the configuration refuses it at start; never a reason to fail a close
    return None if compiled.match("") else re.compile(rf"(?<!\w)(?:{pattern})(?!\w)")


def _regex_finder(pattern: re.Pattern[str], group: int | str = 0) -> Finder:
    return lambda line: (match.span(group) for match in pattern.finditer(line))


# Greeting and signature lines ---------------------------------------------

_GREETING = re.compile(r"""(?ix) ^\s*
    (?: hi | hello | hey | hiya | dear | greetings | good\s+(?:morning|afternoon|evening|day)
      | hei(?:\s+hei)? | heisann | hallo | halla | god\s+(?:dag|morgen|ettermiddag|kveld) | kjære
      | здравствуйте | здравствуй | приветствую | привет | добрый\s+(?:день|вечер) | доброе\s+утро
      | доброго\s+(?:дня|времени\s+суток) | уважаем(?:ый|ая|ые)
    ) (?!\w) (?P<rest>.*) $""")

_SIGN_OFF = re.compile(r"""(?ix) ^\s*
    (?: (?:best|kind|warm|warmest|many)\s+(?:regards|wishes|thanks) | regards | best | cheers | sincerely
      | yours\s+(?:sincerely|faithfully|truly) | br
      | thanks(?:\s+(?:a\s+lot|again|so\s+much|in\s+advance))?
      | thank\s+you(?:\s+(?:very\s+much|so\s+much|in\s+advance))?
      | (?:med\s+)?vennlig\s+hilsen | beste\s+hilsen | hilsen | mvh | vh
      | (?:tusen\s+)?takk(?:\s+(?:for\s+hjelpen|på\s+forhånd))?
      | с\s+уважением | с\s+наилучшими\s+пожеланиями | всего\s+(?:доброго|хорошего) | хорошего\s+дня
      | (?:заранее\s+)?спасибо(?:\s+(?:заранее|большое|за\s+помощь))? | благодарю(?:\s+за\s+помощь)?
    ) (?!\w) (?P<rest>.*) $""")

_SENT_FROM = re.compile(r"""(?ix) ^\s*
    (?: sent\s+from\s+(?:my\s+)?\S | get\s+outlook\s+for\s+\S
      | sendt\s+fra\s+(?:min\s+)?\S | отправлено\s+(?:с|из)\s+\S
    ) .* $""")


def _line_kinds(lines: list[str]) -> list[str | None]:
    """For each line, "greeting" or "signature" if it is to be dropped whole, else None."""
    kinds: list[str | None] = [
        "signature" if len(line.strip()) < SHORT_LINE and _SENT_FROM.match(line) else None for line in lines
    ]
    end = next((index for index, line in enumerate(lines) if line.rstrip() == "--"), len(lines))
    kinds[end:] = ["signature"] * (len(lines) - end)
    top = next((index for index, line in enumerate(lines[:end]) if line.strip()), None)
    greeted = top is not None and kinds[top] is None and _is_greeting(lines[top])
    if greeted:
        kinds[top] = "greeting"
    start = _sign_off_start(lines, kinds, top + 1 if greeted else 0, end)
    if start is not None:
        kinds[start:end] = ["signature"] * (end - start)
    return kinds


def _sign_off_start(lines: list[str], kinds: list[str | None], low: int, high: int) -> int | None:
    """The topmost sign-off line in lines[low:high] followed only by a few short lines, if any."""
    found = None
    counted = 0
    for index in range(high - 1, low - 1, -1):
        line = lines[index].strip()
        if kinds[index] is not None or not line:
            continue
        if _is_sign_off(line):
            found = index
        counted += 1
        if len(line) >= SHORT_LINE or counted > MAX_SIGNATURE_LINES:
            break
    return found


def _is_greeting(line: str) -> bool:
    match = _GREETING.match(line)
    return match is not None and len(line.strip()) < SHORT_LINE and _is_address(match["rest"], 3)


def _is_sign_off(line: str) -> bool:
    match = _SIGN_OFF.match(line)
    return match is not None and len(line.strip()) < SHORT_LINE and _is_address(match["rest"], 4)


def _is_address(rest: str, max_words: int) -> bool:
    """Whether what follows a greeting or sign-off phrase is only whom it is to or from.

    "Hi team," and "Thanks, John" are; "Hello, printer not working" and "Thanks, that fixed it" are not.
    """
    rest = rest.strip().lstrip(",;:-–—").strip()
    words = rest.rstrip(",;:!.…").split()
    if not words:
        return True
    if len(words) > max_words or "?" in rest:
        return False
    # Punctuation after the words marks an address ("Hi all,"); without it, only names pass.
    return rest[-1] in ",!:" or all(_capitalised(word) for word in words)


def _capitalised(word: str) -> bool:
    letters = [char for char in word if char.isalpha()]
    return not letters or letters[0].isupper()


# E-mail addresses and credentials in URLs ---------------------------------

# Everything that can stand next to an address in prose ends it. "@" belongs to
# it, so "a@b.com@c.org" goes as a whole and no address is left behind.
_ADDRESS_CHAR = r"[^\s<>()\[\]{}\",;:\\/\x00]"
_EMAIL = re.compile(rf"(?<!{_ADDRESS_CHAR}){_ADDRESS_CHAR}+@(?:[\w-]+\.)+[^\W\d_][\w-]*")
# A bounded scheme: unbounded, "a.a.a…" lines take quadratic time.
_URL_CREDENTIALS = re.compile(r"(?i)\b[a-z][a-z0-9+.-]{0,31}://(?P<userinfo>[^\s/?#\x00]+)@(?=[\w\[])")


# Ticket references ----------------------------------------------------------

_TICKET_WORD = re.compile(r"""(?ix) (?<!\w)
    (?: tickets? | case | sak | saken | saksnummer | saksnr
      | заявк(?:а|и|е|у|ой) | тикет(?:а|у|ом|е)? | обращени(?:е|я|ю|и|ем)
    ) \.? (?: [^\S\n]* (?: no\.? | nr\.? | number | nummer | номер | № | \# | : ) ){0,3}
    [^\S\n]* [0-9]{3,9} (?!\w)""")
_TICKET_HASH = re.compile(r"(?<![\w&#])#[0-9]{3,9}(?!\w)")


def _tag_pattern(tag_format: str) -> re.Pattern[str] | None:
    """The configured subject tag with any number in it; None if the format has no literal part."""
    if "{ref}" not in tag_format:
        return None
    before, after = tag_format.split("{ref}", 1)
    if not (before.strip() or after.strip()):
        return None
    head = r"(?<!\w)" if re.match(r"\w", before) else ""
    tail = r"(?!\w)" if re.search(r"\w\Z", after) or not after else ""
    return re.compile(rf"{head}{re.escape(before)}[^\S\n]*[0-9]{{1,9}}[^\S\n]*{re.escape(after)}{tail}")


# Phone numbers ---------------------------------------------------------------

_PHONE_LABELLED = re.compile(
    r"(?i)(?<!\w)(?:telefon|телефон|mobile|mobil|phone|tlf|tel|mob|тел|моб)\.?:?[^\S\n]*"
    r"(?P<number>\+?[0-9]{7,15})(?!\w)"
)
_PHONE_SEP = r"[ \u00a0\u202f-]"
# Digit groups joined by single spaces or hyphens, maybe with "+" and "(area)";
# no dots, so versions, dates with dots and IP addresses never start a run.
_PHONE_RUN = re.compile(
    r"(?<![\w.,+\-/])\+?(?:\([0-9]{1,5}\)|[0-9]+)"
    rf"(?:{_PHONE_SEP}?\([0-9]{{1,5}}\)|(?<=\)){_PHONE_SEP}?[0-9]+|{_PHONE_SEP}[0-9]+)*"
)
_PHONE_GROUP = re.compile(r"\([0-9]+\)|[0-9]+")
# After a number: a letter or digit, or a time, decimal or IP continuation.
_PHONE_BAD_TAIL = re.compile(r"\w|[.,:/-]\w")


def _grouped_phones(line: str) -> Iterator[Span]:
    """Phone numbers written as digit groups: the longest phone-shaped stretch of each run."""
    for run in _PHONE_RUN.finditer(line):
        groups = [(run.start() + g.start(), run.start() + g.end()) for g in _PHONE_GROUP.finditer(run.group())]
        plus = run.group().startswith("+")
        sizes = [end - start - 2 * (line[start] == "(") for start, end in groups]  # digits, not brackets
        before = _Before(list(itertools.accumulate(sizes, initial=0)),
                         list(itertools.accumulate((line[start] == "(" for start, _ in groups), initial=0)),
                         _reaches(sizes))
        first = 0
        while first < len(groups):
            # most groups of a long run can start no number: skip them without a call
            after = _phone_end(line, groups, sizes, before, first, plus and first == 0) \
                if (plus and first == 0) or before.reach[first] - first >= 2 else None
            if after is None:
                first += 1
                continue
            yield (run.start() if first == 0 else groups[first][0]), groups[after - 1][1]
            first = after


@dataclass(frozen=True)
class _Before:
    """Before each group of a run: how many digits, and how many bracketed groups, came earlier in it;
    and from each group, how far a number without "+" may reach (_reaches)."""
    digits: list[int]
    brackets: list[int]
    reach: list[int]


def _reaches(sizes: list[int]) -> list[int]:
    """For each group, one past the last group a number starting there (without "+") may take: none
    has a group of more than four digits, nor a one-digit group after its first (see _phone_shaped)."""
    reach, long_at, single_at = [0] * len(sizes), len(sizes), len(sizes)
    for at in range(len(sizes) - 1, -1, -1):
        if sizes[at] > 4:
            long_at = at
        reach[at] = min(long_at, single_at)
        if sizes[at] == 1:
            single_at = at
    return reach


def _phone_end(line: str, groups: list[Span], sizes: list[int], before: _Before, first: int,
               plus: bool) -> int | None:
    """One past the last group of the longest phone number that starts at groups[first], if any
    (`sizes`: each group's digits)."""
    # Only a space may precede a number inside a run: "2026-11-30" must not give up "11-30 …".
    if first > 0 and not line[groups[first][0] - 1].isspace():
        return None
    for after in range(min(len(groups), first + MAX_PHONE_GROUPS, len(groups) if plus else before.reach[first]),
                       first, -1):
        if not MIN_PHONE_DIGITS <= before.digits[after] - before.digits[first] <= MAX_PHONE_DIGITS:
            continue  # too few or too many digits for any phone number: the cheap test first
        bracketed = before.brackets[after] > before.brackets[first]
        if _phone_shaped(sizes[first:after], bracketed, plus) \
                and not _PHONE_BAD_TAIL.match(line, groups[after - 1][1]):
            return after
    return None


def _phone_shaped(lengths: list[int], bracketed: bool, plus: bool) -> bool:
    """Whether digit groups of these lengths (one of them in brackets, as "(495)", if `bracketed`) look
    like a phone number rather than another number."""
    if not MIN_PHONE_DIGITS <= sum(lengths) <= MAX_PHONE_DIGITS:
        return False
    if plus:
        return len(lengths) == 1 or lengths[0] <= 3
    if len(lengths) == 1 or max(lengths) > 4 or 1 in lengths[1:]:
        return False
    if len(lengths) < 3 and not bracketed:
        return False
    if all(length == 4 for length in lengths):  # years, serial numbers, port lists
        return False
    if all(length == 3 for length in lengths[1:]):  # thousands: 1 500 000
        return False
    if all(length == 2 for length in lengths) and len(lengths) != 4:  # pairs only as in 22 12 34 56
        return False
    return not any(lengths[at:at + 3] in ([4, 2, 2], [2, 2, 4]) for at in range(len(lengths)))  # dates


# Names ---------------------------------------------------------------------

_NAME_SPLIT = re.compile(r"[^\w'’.\-\u0300-\u036f]+")
_NAME_TRIM = "'’.-_"
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_RUSSIAN_VOWELS = "аеёиоуыэюя"
# Final letters of the nominative, and the endings that replace them in the other cases.
_RUSSIAN_ENDINGS = (
    ("ая", ("ой", "ую")),
    ("ий", ("ия", "ию", "ием", "ии", "ого", "ому", "им", "ом")),
    ("а", ("ы", "и", "е", "у", "ой", "ою")),
    ("я", ("и", "е", "ю", "ей", "ею")),
    ("й", ("я", "ю", "ем", "е")),
    ("ь", ("я", "ю", "ем", "е", "и", "ью")),
)
_RUSSIAN_CONSONANT_ENDINGS = ("а", "у", "ом", "е", "ым", "ой", "ы")


def _full_name_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    """Third persons' names: as written whole ("Per Olsen", any case), or their last part alone when it is
    capitalised as a name is ("Olsen"), in its inflected forms too; a one-word name only whole and capitalised."""
    forms: list[str] = []
    for name in names:
        parts = [part for part in _name_parts(unicodedata.normalize("NFC", name)) if part[:1].isupper()]
        if not parts:
            continue
        if len(parts) > 1:
            forms.append(r"[^\S\n]+".join("(?:" + "|".join(_name_forms(part)) + ")" for part in parts))
        last = parts[-1]
        stem, endings = _inflection(last)
        ending = "|".join(re.escape(e) for e in endings)
        forms.append(f"{re.escape(stem)}(?:{ending})" if endings and len(stem) >= 2 else re.escape(last))
        if endings and len(stem) >= 2:
            forms.append(re.escape(last))
    if not forms:
        return None
    forms.sort(key=len, reverse=True)
    return re.compile(rf"(?<!\w)(?:{'|'.join(forms)})(?!\w)")


def signature_names(text: str) -> tuple[str, ...]:
    """The names under the sign-offs and signatures of a mail: the short lines of two or three
    capitalised words ("Per Olsen"), which name a person rather than say something."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    found: list[str] = []
    for line, kind in zip(lines, _line_kinds(lines)):
        if kind != "signature":
            continue
        match = _SIGN_OFF.match(line)
        candidate = (match["rest"] if match else line).strip().strip(",;:!.-–— ")
        words = candidate.split()
        if 2 <= len(words) <= 3 and all(_NAME_WORD.fullmatch(word) and word[:1].isupper() for word in words) \
                and not any(word.lower().strip(".") in _ROLE_WORDS for word in words):
            found.append(candidate)
    return tuple(dict.fromkeys(found))


# Words of a signature that name a team, a role or a company rather than a person: "Support Team" stays.
_ROLE_WORDS = frozenset("""
    team support service services desk department office sales customer customers accounting finance it hr
    manager director engineer consultant administrator admin group company ltd inc llc as asa ab aps gmbh oy
    avdeling avdelingen kundeservice kundestøtte brukerstøtte regnskap økonomi salg daglig leder konsulent
    служба поддержки поддержка отдел бухгалтерия менеджер директор инженер администратор компания ооо ао зао
    """.split())
_NAME_WORD = re.compile(r"[^\W\d_][^\W\d_'’-]*(?:[-'’][^\W\d_]+)*\.?", re.UNICODE)


def _name_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    """One or more name parts in a row ("John Smith", "Петрову Ивану"), as whole words."""
    parts = sorted({part for name in names for part in _name_parts(name)}, key=lambda p: (-len(p), p))
    if not parts:
        return None
    item = "(?:" + "|".join(form for part in parts for form in _name_forms(part)) + r")(?!\w)"
    return re.compile(rf"(?<!\w){item}(?:[^\S\n]+{item})*")


def _name_parts(name: str) -> list[str]:
    """The words of a display name, and the halves of hyphenated ones; two characters at least."""
    parts = []
    for word in _NAME_SPLIT.split(name):
        word = word.strip(_NAME_TRIM)
        for part in [word, *word.split("-")] if "-" in word else [word]:
            part = part.strip(_NAME_TRIM)
            if len(part) >= 2 and any(char.isalpha() for char in part):
                # Mail from some clients arrives decomposed ("A" + ring); match either spelling.
                parts += dict.fromkeys(unicodedata.normalize(form, part) for form in ("NFC", "NFD"))
    return parts


def _name_forms(part: str) -> list[str]:
    """Regex alternatives for a name part: inflected forms, then the part itself in any case.

    Inflected forms must be capitalised, as names are: "Романа" is the name, "романа" the novel's.
    """
    forms = [f"(?i:{re.escape(part)})"]
    stem, endings = _inflection(part)
    if endings and len(stem) >= 2:
        first = stem[0].upper() if len(stem[0].upper()) == 1 else stem[0]
        alternatives = "|".join(re.escape(ending) for ending in endings)
        forms.insert(0, f"{re.escape(first)}(?i:{re.escape(stem[1:])}(?:{alternatives}))")
    return forms


def _inflection(part: str) -> tuple[str, tuple[str, ...]]:
    """The stem of a name part and the endings it takes: Russian cases, or a Norwegian genitive s."""
    lower = part.lower()
    if not _CYRILLIC.search(part):
        return (part, ()) if lower.endswith(("s", "x", "z")) else (part, ("s",))
    for final, endings in _RUSSIAN_ENDINGS:
        if lower.endswith(final):
            return part[: len(part) - len(final)], endings
    if lower[-1] in _RUSSIAN_VOWELS:
        return part, ()
    return part, _RUSSIAN_CONSONANT_ENDINGS
