"""The console in a real browser: headless Chromium (Debian's) driven by Playwright, against the real daemon.

One story, as the team lives it: a customer's mail arrives over SMTP; an
agent signs in, opens the ticket, answers it with a template (the mail
reaches the test relay), tries to close it without an SBO note and is shown
what each field lacks, then closes it with one; a reviewer reviews the
report, validates the drafted article and opens the dashboard, whose charts
must have rendered. A screenshot of every page is saved in the test's
temporary directory.
"""
from __future__ import annotations

import dataclasses
import email
import email.policy
import smtplib

import pytest

from daemon.people import users
from daemon.store.models import Article, Message, PatrolReport, PatrolReview, Ticket
from tests.browser import Watch, sign_in
from tests.conftest import make_config, running_service, wait_for

SUPPORT = "support@example.org"
PASSWORD = "a browser test password"


@pytest.fixture
def desk(tmp_path, relay):
    base = make_config(tmp_path, support={"addresses": [SUPPORT]},
                       relay={"host": "127.0.0.1", "port": relay.port})
    config = dataclasses.replace(base, web=dataclasses.replace(base.web, enabled=True, port=0))
    with running_service(config) as service:
        users.create_user("kari", "agent", PASSWORD, name="Kari Nordmann", email="kari@example.org")
        users.create_user("olga", "reviewer", PASSWORD, name="Ольга Петрова")
        yield service, f"http://127.0.0.1:{service.web.port}"


def texts_relayed(relay) -> list[str]:
    found = []
    for _, _, data in list(relay.received):
        message = email.message_from_bytes(data, policy=email.policy.default)
        part = message.get_body(("plain",))
        found.append(part.get_content() if part else "")
    return found


def shot(page, tmp_path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)


def test_from_mail_to_reviewed_report_and_validated_article(browser, desk, relay, tmp_path):
    service, base = desk
    with smtplib.SMTP("127.0.0.1", service.smtp.port) as smtp:
        smtp.sendmail("ase@example.no", [SUPPORT], (
            "From: =?utf-8?q?=C3=85se_Berg?= <ase@example.no>\r\nTo: " + SUPPORT + "\r\n"
            "Subject: =?utf-8?q?Skriveren_p=C3=A5_tredje_etasje?=\r\nMessage-ID: <b1@example.no>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            "Hei, skriveren på tredje etasje skriver bare blanke sider etter oppdateringen.\r\n").encode())
    ticket = wait_for(lambda: Ticket.get_or_none(Ticket.subject == "Skriveren på tredje etasje"))

    context = browser.new_context()
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, base, "kari", PASSWORD)
    shot(page, tmp_path, "01-queue")
    page.get_by_role("link", name="Skriveren på tredje etasje").first.click()
    page.wait_for_url(f"**/tickets/{ticket.number}#latest")  # the queue opens a ticket at its newest message
    assert page.get_by_text("skriver bare blanke sider").count() >= 1
    shot(page, tmp_path, "02-ticket")

    # Reply with a template: preview it, then send; the mail reaches the relay.
    page.select_option("select[name=template]", "reply")
    page.fill("textarea[name=body]", "Prøv å installere skriverdriveren på nytt, så er det i orden.")
    page.click("button[value=preview]")
    assert "Prøv å installere skriverdriveren" in page.inner_text("#preview")
    shot(page, tmp_path, "03-preview")
    page.click("button[value=send]")
    page.wait_for_selector("text=Reply queued")
    wait_for(lambda: any("Prøv å installere skriverdriveren" in text for text in texts_relayed(relay)), timeout=15)

    # Closing without an SBO note: each field says what it lacks, and nothing is written.
    page.click("#close button[type=submit]")
    page.wait_for_selector("#situation-error")
    for name in ("situation", "behaviour", "outcome", "outcome_kind"):
        assert page.locator(f"#{name}-error").is_visible(), name
    assert "missing: write what the customer faced" in page.inner_text("#situation-error")
    shot(page, tmp_path, "04-close-refused")
    assert not PatrolReport.select().exists()

    page.fill("textarea[name=situation]", "Åse's third-floor printer printed blank pages after the update.")
    page.fill("textarea[name=behaviour]", "Reinstalled the vendor's printer driver and printed a test page.")
    page.fill("textarea[name=outcome]", "Pages print again: the update had put a generic driver in place.")
    page.select_option("select[name=outcome_kind]", "resolved")
    page.fill("input[name=tags]", "printer, driver")
    # The article's title and steps start as the note's words; the agent states the problem and the steps.
    assert page.input_value("input[name=article_title]") == (
        "Åse's third-floor printer printed blank pages after the update.")
    assert page.input_value("textarea[name=article_steps]") == (
        "Reinstalled the vendor's printer driver and printed a test page.")
    page.fill("input[name=article_title]", "The printer prints blank pages after the Windows update")
    page.fill("textarea[name=article_steps]", "Open Devices and Printers.\nRemove the printer.\n"
                                              "Install the vendor's driver again and print a test page.")
    page.click("#close button[type=submit]")
    page.wait_for_selector("text=Closed with patrol report")
    shot(page, tmp_path, "05-closed")
    report = PatrolReport.get()
    assert Ticket.get_by_id(ticket.id).status == "solved" and report.author.username == "kari"
    page.click("text=Sign out")
    page.wait_for_url("**/sign-in")
    context.close()

    # The reviewer reviews the report and validates the drafted article.
    context = browser.new_context()
    page = context.new_page()
    reviewer_watch = Watch(page)
    sign_in(page, base, "olga", PASSWORD)
    page.goto(f"{base}/patrol/")
    shot(page, tmp_path, "06-patrol-log")
    page.locator(f"a[href='/patrol/{report.id}']").first.click()
    page.select_option("select[name=verdict]", "sound")
    page.fill("textarea[name=analysis]", "The driver was replaced by the update; the agent found it quickly.")
    page.fill("textarea[name=decision]", "Pin the vendor driver in the update policy.")
    page.click("text=Write the review")
    page.wait_for_selector("text=Pin the vendor driver in the update policy.")
    shot(page, tmp_path, "07-reviewed")
    assert PatrolReview.get().reviewer.username == "olga"

    article = Article.get()
    page.goto(f"{base}/kb/review")
    shot(page, tmp_path, "08-article-review")
    page.locator(f"a[href='/kb/{article.id}']").first.click()
    page.click("button[value=validate]")
    page.wait_for_selector(".badge.validated")
    shot(page, tmp_path, "09-validated")
    validated = Article.get_by_id(article.id)
    assert validated.state == "validated" and validated.title == "The printer prints blank pages after the Windows update"
    assert validated.resolution.startswith("Open Devices and Printers.\nRemove the printer.")

    page.goto(f"{base}/reports/")
    images = page.locator(".charts img")
    assert images.count() >= 5
    page.wait_for_function("Array.from(document.querySelectorAll('.charts img')).every(i => i.complete)")
    widths = page.evaluate("Array.from(document.querySelectorAll('.charts img')).map(i => i.naturalWidth)")
    assert all(width > 100 for width in widths), widths
    shot(page, tmp_path, "10-dashboard")
    for seen in (watch, reviewer_watch):
        assert not seen.dialogs and not seen.errors and not seen.refused_scripts and not seen.refused_styles
    context.close()
    assert all((tmp_path / f"{name}.png").stat().st_size > 5000 for name in (
        "01-queue", "02-ticket", "05-closed", "07-reviewed", "09-validated", "10-dashboard"))


def test_a_refused_close_keeps_the_reply_and_note_typed_beside_it(browser, desk, tmp_path):
    service, base = desk
    with smtplib.SMTP("127.0.0.1", service.smtp.port) as smtp:
        smtp.sendmail("bo@example.com", [SUPPORT], (
            "From: Bo <bo@example.com>\r\nTo: " + SUPPORT + "\r\nSubject: VPN drops hourly\r\n"
            "Message-ID: <v1@example.com>\r\n\r\nThe tunnel to Oslo drops every hour.\r\n").encode())
    ticket = wait_for(lambda: Ticket.get_or_none(Ticket.subject == "VPN drops hourly"))
    context = browser.new_context()
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, base, "kari", PASSWORD)
    page.goto(f"{base}/tickets/{ticket.number}")
    reply, note = "Bo, try the new client profile attached.", "Same as the Oslo outage last week?"
    page.fill("textarea[name=body]", reply)
    page.fill("textarea[name=text]", note)
    page.fill("textarea[name=behaviour]", "Checked the tunnel logs.")

    # A close refused for its incomplete SBO note: the refusal shows, and every typed word is still there.
    page.click("#close button[type=submit]")
    page.wait_for_selector("#situation-error")
    shot(page, tmp_path, "11-close-refused-drafts-kept")
    assert page.input_value("textarea[name=body]") == reply and page.input_value("textarea[name=text]") == note
    assert page.input_value("textarea[name=behaviour]") == "Checked the tunnel logs."
    assert Ticket.get_by_id(ticket.id).status == "new"

    page.goto(f"{base}/tickets/{ticket.number}")  # a reload, or coming back later, finds them too
    assert page.input_value("textarea[name=body]") == reply and page.input_value("textarea[name=text]") == note
    assert page.input_value("textarea[name=behaviour]") == "Checked the tunnel logs."

    # The reply sent: its draft is gone; the note and the SBO text stay until their own forms are taken.
    page.click("button[value=send]")
    page.wait_for_selector("text=Reply queued")
    assert page.input_value("textarea[name=body]") == "" and page.input_value("textarea[name=text]") == note
    page.reload()
    assert page.input_value("textarea[name=body]") == "" and page.input_value("textarea[name=text]") == note
    page.click("#note button[type=submit]")
    page.wait_for_selector("text=Note added.")
    assert page.input_value("textarea[name=text]") == ""
    assert page.input_value("textarea[name=behaviour]") == "Checked the tunnel logs."
    kept = page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('patroldesk.draft.'))")
    assert kept == [f"patroldesk.draft.{ticket.number}/close.behaviour"]
    assert not watch.dialogs, watch.dialogs  # no "leave site?" on any button that submits
    assert not watch.errors and not watch.refused_scripts and not watch.refused_styles
    context.close()


def test_the_ticket_page_opens_at_its_newest_message(browser, desk):
    service, base = desk
    body = "".join(f"Line {n} of a long report.\r\n" for n in range(200))
    with smtplib.SMTP("127.0.0.1", service.smtp.port) as smtp:
        smtp.sendmail("bo@example.com", [SUPPORT], (
            "From: Bo <bo@example.com>\r\nTo: " + SUPPORT + "\r\nSubject: Long report\r\n"
            "Message-ID: <l1@example.com>\r\n\r\n" + body).encode())
        ticket = wait_for(lambda: Ticket.get_or_none(Ticket.subject == "Long report"))
        smtp.sendmail("bo@example.com", [SUPPORT], (
            "From: Bo <bo@example.com>\r\nTo: " + SUPPORT + f"\r\nSubject: Re: [#{ticket.number}] Long report\r\n"
            "Message-ID: <l2@example.com>\r\nIn-Reply-To: <l1@example.com>\r\n\r\nAnd now it is worse.\r\n").encode())
    wait_for(lambda: ticket.messages.where(Message.message_id == "l2@example.com").exists())
    context = browser.new_context(viewport={"width": 1200, "height": 700})
    page = context.new_page()
    sign_in(page, base, "kari", PASSWORD)
    page.goto(f"{base}/tickets")
    page.get_by_role("link", name="Long report").first.click()
    page.wait_for_url(f"**/tickets/{ticket.number}#latest")
    newest = page.get_by_text("And now it is worse.")
    wait_for(lambda: page.evaluate("window.scrollY") > 0)
    assert newest.is_visible()
    box = newest.bounding_box()
    assert 0 <= box["y"] < 700, box  # in view without scrolling
    page.goto(f"{base}/tickets/{ticket.number}")  # opened without the anchor: the same place
    wait_for(lambda: page.evaluate("window.scrollY") > 0)
    assert 0 <= page.get_by_text("And now it is worse.").bounding_box()["y"] < 700
    context.close()
