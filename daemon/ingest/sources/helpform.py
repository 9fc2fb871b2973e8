"""The help center's contact form as a source: the form's fields as a mail, spooled like any other.

Edge work only, as the SMTP listener does: the fields are checked (a name, an
address mail can go to, a subject, some text), written as an RFC 5322 message
from the visitor to the first support address, and spooled with origin "help";
the pipeline then threads, guards loops, applies policies and acknowledges it
unchanged, and the acknowledgement is what confirms the address. What the
visitor searched for and read before writing rides along in the spool row's
origin detail, for the pipeline's trail stage to put on the ticket.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTPUTF8
from email.utils import format_datetime, formataddr

from daemon.config import Config
from daemon.errors import PatroldeskError
from daemon.ingest.sources import spool
from daemon.languages import N_
from daemon.mail.addresses import addr_spec
from daemon.store.models import Inbound, utcnow

ORIGIN = "help"
LIMITS = {"name": 200, "address": 320, "subject": 200, "text": 20_000}
TRAIL_ITEMS = 10  # searches, and articles read, kept of a visit


class ContactRefused(PatroldeskError):
    """A contact form that cannot be sent; `problems` maps each field to what is wrong with it."""

    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__("the form is refused: " + "; ".join(f"{key}: {why}" for key, why in problems.items()))


@dataclass(frozen=True)
class Contact:
    name: str
    address: str
    subject: str
    text: str
    language: str = ""  # the help center's language when the visitor wrote
    trail: dict = field(default_factory=dict)  # {"searches": [[words, found]], "read": [[id, language, title]]}


def check(contact: Contact) -> dict[str, str]:
    """What is wrong with each field (nothing: an empty dict)."""
    problems = {}
    for name, limit in LIMITS.items():
        value = getattr(contact, name).strip()
        if not value:
            problems[name] = N_("this is needed")
        elif len(value) > limit:
            problems[name] = N_("at most %(count)s characters", count=limit)
    if "address" not in problems and addr_spec(contact.address) is None:
        problems["address"] = N_("not a mail address: write it as name@example.com")
    if "name" not in problems and any(c in contact.name for c in "\r\n<>\""):
        problems["name"] = N_("a name without line breaks, quotes or angle brackets")
    if "subject" not in problems and any(c in contact.subject for c in "\r\n"):
        problems["subject"] = N_("a subject on one line")
    return problems


def message_of(config: Config, contact: Contact) -> bytes:
    """The form as the mail a customer would have written."""
    message = EmailMessage(policy=SMTPUTF8)
    message["From"] = formataddr((contact.name.strip(), addr_spec(contact.address) or contact.address.strip()))
    message["To"] = config.support.addresses[0]
    message["Subject"] = contact.subject.strip()
    message["Date"] = format_datetime(utcnow().replace(tzinfo=dt.timezone.utc))
    domain = config.support.addresses[0].rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<help.{uuid.uuid4().hex}@{domain}>"
    if contact.language:
        message["Content-Language"] = contact.language
    message["X-Patroldesk-Origin"] = "help center contact form"
    message.set_content(contact.text.strip() + "\n", cte="quoted-printable")
    return message.as_bytes()


def spool_contact(config: Config, contact: Contact) -> Inbound:
    """Check the form and spool it as mail; ContactRefused names each field that is wrong."""
    problems = check(contact)
    if problems:
        raise ContactRefused(problems)
    trail = {"searches": [list(item) for item in contact.trail.get("searches", [])][-TRAIL_ITEMS:],
             "read": [list(item) for item in contact.trail.get("read", [])][-TRAIL_ITEMS:],
             "language": contact.language}
    return spool.enqueue(message_of(config, contact), ORIGIN, detail={"trail": trail},
                         mail_from=addr_spec(contact.address))
