"""The Dovecot fixtures themselves: a real IMAP server the other tests can trust."""
from __future__ import annotations

import socket

import pytest
from imapclient import IMAPClient

from tests.dovecot import Account

PLAIN = (
    b"From: Anna <anna@example.org>\r\n"
    b"To: support@example.com\r\n"
    b"Subject: Printer\r\n"
    b"Message-ID: <plain@example.org>\r\n"
    b"\r\n"
    b"The printer is on fire.\r\n"
)
UTF8 = (
    b"From: =?utf-8?q?Bj=C3=B8rn?= <bjorn@example.no>\r\n"
    b"To: support@example.com\r\n"
    b"Subject: =?utf-8?q?Skj=C3=A6rm?=\r\n"
    b"Message-ID: <utf8@example.no>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
) + "Skjærmen er blå, ça ne marche pas, 画面が青い.\r\n".encode()


def accepts_connections(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


def test_appended_mail_comes_back_byte_for_byte(imap_account):
    imap_account.append("Support", [PLAIN, UTF8])

    assert imap_account.count("Support") == 2
    assert imap_account.fetch_all("Support") == [PLAIN, UTF8]
    assert imap_account.folders() == ["INBOX", "Support"]
    assert list(imap_account.flags("Support").values()) == [(), ()]


def test_missing_folder_counts_zero(imap_account):
    assert imap_account.count("Nowhere") == 0
    assert imap_account.fetch_all("Nowhere") == []


def test_server_advertises_idle_move_uidplus(imap_account):
    with imap_account.client() as imap:
        assert imap.has_capability("IDLE")
        assert imap.has_capability("MOVE")
        assert imap.has_capability("UIDPLUS")


def test_new_users_log_in_at_once(dovecot):
    # Dovecot re-reads a passwd-file at most once a second; users added in quick
    # succession must still be known immediately.
    for _ in range(3):
        account = dovecot.add_user()
        with account.client() as imap:
            assert imap.select_folder("INBOX")[b"EXISTS"] == 0
    assert f"Login: user=<{account.user}>" in dovecot.log_text()


def test_accounts_do_not_see_each_others_mail(dovecot):
    anna = dovecot.add_user()
    bjorn = dovecot.add_user(password="other")
    anna.append("INBOX", [PLAIN])
    anna.append("Private", [UTF8])

    assert bjorn.count("INBOX") == 0
    assert bjorn.folders() == ["INBOX"]
    assert anna.count("INBOX") == anna.count("Private") == 1
    with pytest.raises(IMAPClient.Error):
        Account(anna.host, anna.port, anna.user, bjorn.password).client()


def test_restart_keeps_port_and_mail(dovecot, imap_account):
    imap_account.append("INBOX", [PLAIN, UTF8])
    port = dovecot.port

    dovecot.restart()

    assert dovecot.port == port == imap_account.port
    assert imap_account.fetch_all("INBOX") == [PLAIN, UTF8]


def test_stop_closes_the_port_and_cuts_off_clients(dovecot, imap_account):
    imap = imap_account.client()
    imap.select_folder("INBOX")

    dovecot.stop()

    assert not dovecot.running
    assert not accepts_connections(dovecot.host, dovecot.port)
    with pytest.raises((IMAPClient.AbortError, OSError)):
        imap.noop()
    imap.shutdown()


def test_dovecot_fixture_starts_a_stopped_server_again(dovecot, imap_account):
    # Runs after test_stop_closes_the_port_and_cuts_off_clients left the session's server stopped.
    assert dovecot.running
    imap_account.append("INBOX", [PLAIN])
    assert imap_account.count("INBOX") == 1
