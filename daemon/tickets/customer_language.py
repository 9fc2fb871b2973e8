"""The language a customer is written to in: learnt from their own mail, or set by a person.

A person's word wins: once an agent or an admin sets it, detection no longer changes it.
"""
from __future__ import annotations

from daemon.config import Config
from daemon.errors import PatroldeskError
from daemon.languages import DETECTED, normalise
from daemon.mail.language import CONFIDENT
from daemon.store.db import execute
from daemon.store.models import Customer, Message
from daemon.tickets.lifecycle import audit

SET, DETECTED_SOURCE = "set", "detected"


class LanguageRefused(PatroldeskError):
    """A language code that is not one patroldesk knows."""


def learn_language(address: str, language: str) -> None:
    """A confident detection in mail from `address` becomes their language, unless a person set one."""
    # One statement, and no write at all when nothing changes (most mail of a known customer).
    execute('UPDATE "customer" SET "language" = ?, "language_source" = ? WHERE "email" = ? '
            'AND "language_source" <> ? AND ("language" <> ? OR "language_source" <> ?)',
            (language, DETECTED_SOURCE, address, SET, language, DETECTED_SOURCE))


def set_customer_language(customer: Customer, code: str, actor=None, ticket=None) -> Customer:
    """Set the customer's language to `code` (one of daemon.languages.DETECTED); "" gives it back to
    detection (their latest confidently detected mail, if any). Recorded on `ticket`'s trail."""
    code = normalise(code)
    if code and code not in DETECTED:
        raise LanguageRefused(f"{code!r} is not a language patroldesk knows: one of {', '.join(DETECTED)}")
    language, source = (code, SET) if code else _latest_detected(customer)
    Customer.update(language=language, language_source=source).where(Customer.id == customer.id).execute()
    customer.language, customer.language_source = language, source
    said = code or f"as detected ({language or 'not known yet'})"
    audit(ticket, "customer language set", {"customer": customer.email, "language": said}, actor=actor)
    return customer


def _latest_detected(customer: Customer) -> tuple[str, str]:
    found = (Message.select(Message.language)
             .where((Message.sender_address == customer.email) & (Message.kind == "inbound")
                    & Message.automatic.is_null() & (Message.language != "")
                    & (Message.language_confidence >= CONFIDENT))
             .order_by(Message.id.desc()).limit(1).scalar())
    return (found, DETECTED_SOURCE) if found else ("", "")


def writing_language(config: Config, customer: Customer) -> str:
    """The language to write to the customer in: theirs when known, else [support] default_language."""
    return normalise(customer.language or "") or config.support.default_language
