"""Identifiers that must not reach an article: VAT numbers, IBANs, payment cards, national identity numbers.

Each finder gives the spans of its kind in one line. Where a number carries a
check digit (IBAN's mod 97, Luhn for cards and Swedish personal numbers, the
Norwegian birth number's two mod-11 digits, Norwegian organisation numbers,
Russian INN and SNILS) only numbers that pass it are taken, so product codes,
amounts, dates and versions stay. Numbers without a check digit (Danish CPR,
Russian passports) are taken only in their written form or after their label.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Iterator

Span = tuple[int, int]

# Country -> IBAN length, for the countries whose customers write to us most; others: 15 to 34.
_IBAN_LENGTHS = {
    "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24,
    "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GL": 18, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26,
    "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25,
    "RO": 24, "RU": 33, "SE": 24, "SI": 19, "SK": 24, "UA": 29,
}
_IBAN_RUN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?:[ \u00a0]?[A-Z0-9]){11,30}(?![a-z0-9])")


def ibans(line: str) -> Iterator[Span]:
    """IBANs, grouped by spaces or not, that pass the mod-97 check."""
    for run in _IBAN_RUN.finditer(line):
        chars = [(at, char) for at, char in enumerate(run.group(), run.start()) if char.isalnum()]
        wanted = _IBAN_LENGTHS.get(run.group()[:2])
        for length in ([wanted] if wanted else range(min(34, len(chars)), 14, -1)):
            if length <= len(chars) and _iban_ok("".join(char for _, char in chars[:length])):
                end = chars[length - 1][0] + 1
                if end == len(line) or not line[end].isalnum():
                    yield run.start(), end
                break


def _iban_ok(iban: str) -> bool:
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in moved)) % 97 == 1


# Cards: 13 to 19 digits, whole or in groups of 4 (Amex 4-6-5, Diners 4-6-4), passing Luhn.
_CARD = re.compile(r"(?<![\w.,/-])(?:[0-9]{13,19}|[0-9]{4}(?:[ -][0-9]{4}){2,3}(?:[ -][0-9]{1,3})?"
                   r"|[0-9]{4}[ -][0-9]{6}[ -][0-9]{4,5})(?![\w/]|[.,-][0-9])")


def cards(line: str) -> Iterator[Span]:
    """Payment card numbers: 13 to 19 digits that pass Luhn and start as card numbers do (2 to 6)."""
    for found in _CARD.finditer(line):
        digits = re.sub(r"\D", "", found.group())
        if 13 <= len(digits) <= 19 and digits[0] in "23456" and len(set(digits)) > 1 and luhn_ok(digits):
            yield found.span()


def luhn_ok(digits: str) -> bool:
    total = 0
    for place, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if place % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


# National identity numbers.
_ELEVEN = re.compile(r"(?<![\w.,/+-])([0-9]{6})[ ]?([0-9]{5})(?![\w/]|[.,-][0-9])")
_SWEDISH = re.compile(r"(?<![\w.,/+-])((?:19|20)?[0-9]{6})([-+]?)([0-9]{4})(?![\w/]|[.,-][0-9])")
_DANISH = re.compile(r"(?<![\w.,/+-])([0-9]{6})-([0-9]{4})(?![\w/]|[.,-][0-9])")
_SNILS = re.compile(r"(?<![\w.,/+-])([0-9]{3})[- ]?([0-9]{3})[- ]?([0-9]{3})[- ]([0-9]{2})(?![\w/]|[.,-][0-9])")
_INN = re.compile(r"(?i)(?<!\w)(?:ИНН|INN)\b[^\S\n]*(?:№|:|#)?[^\S\n]*(?P<number>[0-9]{12}|[0-9]{10})(?![\w])")
_PASSPORT = re.compile(r"(?i)(?<!\w)(?:паспорт\w*|passport)(?:[^\S\n]+(?:серии|серия|series|no\.?|№|номер)"
                       r"|[^\S\n]*[:№#])*[^\S\n]*(?P<number>[0-9]{2}[ ]?[0-9]{2}[^\S\n]*(?:№|номер)?[^\S\n]*[0-9]{6})"
                       r"(?![\w])")


def national_ids(line: str) -> list[Span]:
    """Norwegian birth numbers, Swedish personal numbers, Danish CPR numbers, Russian SNILS, INN and passports."""
    return _disjoint(_national_ids(line))


def _national_ids(line: str) -> Iterator[Span]:
    for found in _ELEVEN.finditer(line):
        if _norwegian_ok(found.group(1) + found.group(2)):
            yield found.span()
    for found in _SWEDISH.finditer(line):
        date, sign, serial = found.groups()
        if (sign or len(date) == 8) and _swedish_ok(date[-6:], serial):
            yield found.span()
    for found in _DANISH.finditer(line):
        if _date_ok(found.group(1)[4:], found.group(1)[2:4], found.group(1)[:2]):
            yield found.span()
    for found in _SNILS.finditer(line):
        if _snils_ok("".join(found.groups())):
            yield found.span()
    for pattern in (_INN, _PASSPORT):
        for found in pattern.finditer(line):
            yield found.span("number")


def _norwegian_ok(number: str) -> bool:
    """A birth number (fødselsnummer, or D-number): a real date and both mod-11 check digits."""
    digits = [int(char) for char in number]
    day, month = int(number[:2]) % 40, int(number[2:4]) % 40  # D-numbers add 40 to the day, H-numbers to the month
    if not _date_ok(number[4:6], f"{month:02d}", f"{day:02d}"):
        return False
    first = 11 - sum(w * d for w, d in zip((3, 7, 6, 1, 8, 9, 4, 5, 2), digits)) % 11
    second = 11 - sum(w * d for w, d in zip((5, 4, 3, 2, 7, 6, 5, 4, 3, 2), digits)) % 11
    return digits[9] == first % 11 and digits[10] == second % 11 and first != 10 and second != 10


def _swedish_ok(date: str, serial: str) -> bool:
    """A personal number (or co-ordination number, day + 60): a real date and Luhn over ten digits."""
    day = int(date[4:]) - (60 if int(date[4:]) > 60 else 0)
    return _date_ok(date[:2], date[2:4], f"{day:02d}") and luhn_ok(date + serial)


def _snils_ok(number: str) -> bool:
    total = sum(int(digit) * (9 - place) for place, digit in enumerate(number[:9]))
    check = total if total < 100 else 0 if total in (100, 101) else total % 101 % 100
    return int(number[9:]) == check and len(set(number[:9])) > 1


def _date_ok(year: str, month: str, day: str) -> bool:
    try:
        dt.date(2000 + int(year), int(month), int(day))  # a leap year: 29 February of any year passes
    except ValueError:
        return False
    return True


# VAT and organisation numbers: a country's prefix and its digits, or the Norwegian "MVA" form.
_VAT = re.compile(r"""(?<![A-Za-z0-9])(?:
      ATU[0-9]{8} | BE[ ]?[01][0-9]{9} | BG[ ]?[0-9]{9,10} | CY[ ]?[0-9]{8}[A-Z] | CZ[ ]?[0-9]{8,10}
    | DE[ ]?[0-9]{9} | DK[ ]?[0-9]{8} | EE[ ]?[0-9]{9} | EL[ ]?[0-9]{9} | ES[ ]?[A-Z0-9][0-9]{7}[A-Z0-9]
    | FI[ ]?[0-9]{8} | FR[ ]?[A-Z0-9]{2}[0-9]{9} | HR[ ]?[0-9]{11} | HU[ ]?[0-9]{8}
    | IE[ ]?[0-9][A-Z0-9][0-9]{5}[A-Z]{1,2}
    | IT[ ]?[0-9]{11} | LT[ ]?(?:[0-9]{12}|[0-9]{9}) | LU[ ]?[0-9]{8} | LV[ ]?[0-9]{11} | MT[ ]?[0-9]{8}
    | NL[ ]?[0-9]{9}B[0-9]{2} | PL[ ]?[0-9]{10} | PT[ ]?[0-9]{9} | RO[ ]?[0-9]{6,10} | SE[ ]?[0-9]{10}01
    | SI[ ]?[0-9]{8} | SK[ ]?[0-9]{10} | GB[ ]?(?:[0-9]{12}|[0-9]{9}) | XI[ ]?[0-9]{9}
    | CHE[- ]?[0-9]{3}\.?[0-9]{3}\.?[0-9]{3}(?:[ ]?(?:MWST|TVA|IVA))?
    | (?:NO[ ]?)?[0-9]{3}[ ]?[0-9]{3}[ ]?[0-9]{3}[ ]?MVA
    )(?![A-Za-z0-9])""", re.VERBOSE)
_ORGANISATION = re.compile(
    r"(?i)(?<!\w)(?:org\.?[^\S\n]*(?:nr|no)\.?|organisasjonsnummer|organisationsnummer|mva-?(?:nummer|nr)\.?"
    r"|momsnummer|momsreg\.?[^\S\n]*nr\.?|vat(?:[- ]?(?:number|no\.?|nr\.?|id|reg\.?[^\S\n]*no\.?))?)"
    r"[^\S\n]*:?(?:[^\S\n]+(?:er|is|är|lyder))?[^\S\n]*"
    r"(?P<number>[0-9]{3}[ ]?[0-9]{3}[ ]?[0-9]{3}|[0-9]{6}-[0-9]{4}|[0-9]{8,12})(?![\w])")


def vat_numbers(line: str) -> list[Span]:
    """VAT numbers with their country prefix, and organisation numbers after their label."""
    return _disjoint(_vat_numbers(line))


def _vat_numbers(line: str) -> Iterator[Span]:
    for found in _VAT.finditer(line):
        yield found.span()
    for found in _ORGANISATION.finditer(line):
        yield found.span("number")


def _disjoint(spans: Iterator[Span]) -> list[Span]:
    """The spans without overlaps: of two that overlap, the one that starts first (the longer on a tie)."""
    kept: list[Span] = []
    for start, end in sorted(spans, key=lambda span: (span[0], -span[1])):
        if not kept or start >= kept[-1][1]:
            kept.append((start, end))
    return kept
