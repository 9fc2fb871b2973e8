"""classify(): which mails are automatic (auto-replies, bounces, bulk)."""

from __future__ import annotations

import email
import email.policy

import pytest

from daemon.mail.classify import classify, classify_envelope
from tests.corpus import CASES_BY_NAME, CRLF, headers, leaf, multipart


def message(*pairs, entity: bytes | None = None):
    """A compat32 message with the given top-level headers."""
    raw = headers(("From", "Person <person@example.com>"), ("Subject", "Hello"), *pairs)
    raw += entity if entity is not None else leaf("text/plain", b"Hi.\r\n")
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def test_human_mail_is_not_automatic():
    assert classify(message()) is None


@pytest.mark.parametrize("value, reason", [
    ("auto-replied", "auto-submitted: auto-replied"),
    ("Auto-Generated", "auto-submitted: auto-generated"),
    ("auto-notified; owner-email=\"x@example.com\"", "auto-submitted: auto-notified"),
    ("AUTO-REPLIED", "auto-submitted: auto-replied"),
])
def test_auto_submitted_other_than_no_is_automatic(value, reason):
    assert classify(message(("Auto-Submitted", value))) == reason


@pytest.mark.parametrize("value", ["no", "No", "NO; comment=x", " no "])
def test_auto_submitted_no_is_human(value):
    assert classify(message(("Auto-Submitted", value))) is None


@pytest.mark.parametrize("value", ["bulk", "junk", "list", "Bulk"])
def test_precedence_bulk_junk_list(value):
    assert classify(message(("Precedence", value))) == f"precedence: {value.lower()}"


def test_precedence_first_class_is_human():
    assert classify(message(("Precedence", "first-class"))) is None


@pytest.mark.parametrize("name, value, reason", [
    ("X-Autoreply", "yes", "x-autoreply"),
    ("X-Autoreply", "", "x-autoreply"),
    ("X-Autorespond", "Vacation", "x-autorespond"),
])
def test_x_autoreply_headers_with_any_value(name, value, reason):
    assert classify(message((name, value))) == reason


@pytest.mark.parametrize("value", ["All", "OOF", "AutoReply", "DR", "RN", "NRN", "DR, RN, NRN", "oof"])
def test_x_auto_response_suppress_values(value):
    assert classify(message(("X-Auto-Response-Suppress", value))) == "x-auto-response-suppress"


def test_x_auto_response_suppress_with_other_values_is_human():
    assert classify(message(("X-Auto-Response-Suppress", "None"))) is None


def test_empty_return_path():
    assert classify(message(("Return-Path", "<>"))) == "return-path: empty"
    assert classify(message(("Return-Path", "< >"))) == "return-path: empty"
    assert classify(message(("Return-Path", "<person@example.com>"))) is None


@pytest.mark.parametrize("sender, reason", [
    ("MAILER-DAEMON@mx.example.com", "sender: mailer-daemon"),
    ("Mail Delivery System <Mailer-Daemon@mx.example.com>", "sender: mailer-daemon"),
    ("MAILER-DAEMON", "sender: mailer-daemon"),
    ("postmaster@example.com", "sender: postmaster"),
    ("\"Post Master\" <POSTMASTER@example.com>", "sender: postmaster"),
])
def test_robot_senders(sender, reason):
    raw = headers(("From", sender), ("Subject", "x")) + leaf("text/plain", b"x")
    assert classify(email.message_from_bytes(raw, policy=email.policy.compat32)) == reason


def test_person_named_postmaster_in_display_name_only_is_human():
    raw = headers(("From", "Postmaster General <pg@example.com>")) + leaf("text/plain", b"x")
    assert classify(email.message_from_bytes(raw, policy=email.policy.compat32)) is None


def test_multipart_report_delivery_status_is_a_dsn():
    report = multipart("report", "r", leaf("text/plain", b"failed"),
                       headers(("Content-Type", "message/delivery-status")) + CRLF + b"Action: failed\r\n",
                       extra="; report-type=delivery-status")
    assert classify(message(entity=report)) == "delivery status notification"


def test_delivery_status_part_without_report_wrapper_is_a_dsn():
    mixed = multipart("mixed", "m", leaf("text/plain", b"failed"),
                      headers(("Content-Type", "message/delivery-status")) + CRLF + b"Action: failed\r\n")
    assert classify(message(entity=mixed)) == "delivery status notification"


def test_read_receipt_is_a_disposition_notification():
    report = multipart("report", "r", leaf("text/plain", b"read"),
                       extra="; report-type=disposition-notification")
    assert classify(message(entity=report)) == "disposition notification"


def test_list_id_alone_is_not_automatic():
    assert classify(message(("List-Id", "<users.example.com>"), ("List-Unsubscribe", "<mailto:u@x>"))) is None


def test_corpus_bounce_and_auto_reply():
    bounce = email.message_from_bytes(CASES_BY_NAME["dsn-bounce"].raw, policy=email.policy.compat32)
    reply = email.message_from_bytes(CASES_BY_NAME["auto-reply"].raw, policy=email.policy.compat32)
    assert classify(bounce) == "delivery status notification"
    assert classify(reply) == "auto-submitted: auto-replied"


def test_raw_8bit_header_values_do_not_break_classification():
    raw = headers(("From", "Тест <postmaster@example.com>".encode()), ("X-Note", b"\xff\xfe"),
                  ("Precedence", b"junk")) + leaf("text/plain", b"x")
    assert classify(email.message_from_bytes(raw, policy=email.policy.compat32)) == "precedence: junk"


@pytest.mark.parametrize("mail_from, reason", [
    ("", "envelope sender: empty (bounce)"),
    ("<>", "envelope sender: empty (bounce)"),
    ("  ", "envelope sender: empty (bounce)"),
    (None, None),
    ("person@example.com", None),
    ("<person@example.com>", None),
])
def test_classify_envelope(mail_from, reason):
    assert classify_envelope(mail_from) == reason
