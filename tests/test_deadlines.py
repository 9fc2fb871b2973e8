"""Time that means what the team promised: business hours per team, two deadlines per ticket, their
warnings and breaches told once, and policies that read the clock run without new mail.

The arithmetic is checked against a calendar worked out by hand (a weekend, a holiday, both changes of
daylight-saving time in Oslo); the rest runs on real mail through the pipeline, on SQLite and PostgreSQL.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import json
import random
import subprocess
import sys

import pytest

from daemon import tickets
from daemon.config import ConfigError, HoursConfig, load_config
from daemon.ingest import pipeline
from daemon.ingest.sources import spool
from daemon.patrol import deadlines, digest, policies
from daemon.patrol import dashboard as figures
from daemon.people.users import create_user
from daemon.store import cluster, db
from daemon.store.models import AuditEvent, DeadlineNotice, Outgoing, PolicyFiring, Ticket, User, utcnow
from daemon.tickets import queue
from daemon.tickets.hours import BusinessHours, deadlines as deadlines_of, for_team
from tests.conftest import make_config
from tests.corpus import simple_mail
from tests.webtools import make_console

SUPPORT = "hjelp@example.no"
OSLO = HoursConfig("Europe/Oslo", "mon-fri", "08:00", "16:00", ["2026-12-24", "2026-12-25", "2026-12-31"])


def utc(*parts) -> dt.datetime:
    return dt.datetime(*parts)


# The arithmetic -----------------------------------------------------------------------------

def test_a_mail_on_friday_evening_is_due_on_monday_not_on_saturday_night():
    hours = BusinessHours.of(OSLO)
    friday_evening = utc(2026, 11, 27, 18, 18)  # 19:18 in Oslo (UTC+1)
    # Eight business hours: all of Monday, 08:00-16:00 Oslo = 07:00-15:00 UTC.
    assert hours.add(friday_evening, 480) == utc(2026, 11, 30, 15, 0)
    # One hour before closing on Friday, then three on Monday.
    assert hours.add(utc(2026, 11, 27, 14, 0), 240) == utc(2026, 11, 30, 10, 0)
    assert hours.between(friday_evening, utc(2026, 11, 30, 15, 0)) == 480


def test_holidays_are_skipped_from_the_list_and_from_a_file(tmp_path):
    hours = BusinessHours.of(OSLO)
    # Wednesday 23 December 15:00 Oslo: one hour that day; the 24th and 25th are holidays, then a weekend.
    assert hours.add(utc(2026, 12, 23, 14, 0), 480) == utc(2026, 12, 28, 14, 0)
    calendar = tmp_path / "holidays.txt"
    calendar.write_text("# Norway, 2027\n2027-01-01 New Year's Day\n\n2027-04-01  Maundy Thursday\n")
    path = tmp_path / "p.toml"
    path.write_text('[hours]\ntimezone = "Europe/Oslo"\nholidays = ["2026-12-31"]\nholidays_file = "holidays.txt"\n')
    config = load_config(path, {})
    assert config.hours.holidays == ["2026-12-31", "2027-01-01", "2027-04-01"]
    # Wednesday 30 December 16:00 Oslo, an hour before [hours]' default closing at 17:00; then 31 December
    # and 1 January are off, and the weekend: the other seven hours are on Monday 4 January (09:00-16:00).
    assert for_team(config, "").add(utc(2026, 12, 30, 15, 0), 480) == utc(2027, 1, 4, 15, 0)


def test_deadlines_land_on_the_same_local_hour_across_both_changes_of_daylight_saving_time():
    hours = BusinessHours.of(OSLO)
    # Summer time starts on Sunday 29 March 2026. Friday 27 March 15:00 Oslo is 14:00 UTC (UTC+1);
    # four hours: 15:00-16:00 on Friday, then 08:00-11:00 on Monday, which is 09:00 UTC (UTC+2).
    assert hours.add(utc(2026, 3, 27, 14, 0), 240) == utc(2026, 3, 30, 9, 0)
    # Wall-clock arithmetic would have said 10:00 UTC.
    assert hours.between(utc(2026, 3, 27, 14, 0), utc(2026, 3, 30, 9, 0)) == 240
    # Summer time ends on Sunday 25 October 2026: Friday 23 October 15:00 Oslo is 13:00 UTC (UTC+2);
    # Monday 11:00 Oslo is 10:00 UTC (UTC+1).
    assert hours.add(utc(2026, 10, 23, 13, 0), 240) == utc(2026, 10, 26, 10, 0)


def test_a_team_that_never_closes_counts_the_short_and_the_long_day_as_they_are():
    always = BusinessHours.of(HoursConfig("Europe/Oslo", "mon-sun", "00:00", "24:00", []))
    spring = dt.date(2026, 3, 29)
    opening, closing = always.span(spring)
    assert (closing - opening) == dt.timedelta(hours=23)
    opening, closing = always.span(dt.date(2026, 10, 25))
    assert (closing - opening) == dt.timedelta(hours=25)
    # Round the clock, business time is real time, daylight saving or not.
    start = utc(2026, 3, 28, 12, 0)
    assert always.add(start, 48 * 60) == start + dt.timedelta(hours=48)


def test_between_undoes_add_for_random_moments_and_lengths():
    rng = random.Random(2026)
    moscow = HoursConfig("Europe/Moscow", "sun-thu", "09:30", "18:00", [])
    for hours in (BusinessHours.of(OSLO), BusinessHours.of(moscow)):
        for _ in range(300):
            start = utc(2026, 1, 1) + dt.timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
            minutes = rng.randrange(1, 6000)
            due = hours.add(start, minutes)
            assert abs(hours.between(start, due) - minutes) < 1e-6, (start, minutes, due)
            assert hours.between(due, start) == -hours.between(start, due)


@pytest.mark.parametrize("text, key, why", [
    ('[hours]\ntimezone = "Europe/Olso"\n', "hours.timezone", "not a time zone"),
    ('[hours]\ndays = "mon-fry"\n', "hours.days", "not a day"),
    ('[hours]\nopen = "8"\n', "hours.open", "HH:MM"),
    ('[hours]\nopen = "18:00"\nclose = "08:00"\n', "hours.close", "must be after hours.open"),
    ('[hours]\nholidays = ["24.12.2026"]\n', "hours.holidays", "YYYY-MM-DD"),
    ('[hours]\nholidays_file = "nowhere.txt"\n', "hours.holidays_file", "cannot read"),
    ('[[team]]\ntimezone = "UTC"\n', "team[1].name", "is required"),
    ('[[team]]\nname = "a"\n[[team]]\nname = "a"\n', "team.name", "two teams"),
    ('[sla]\nwarn_percent = 100\n', "sla.warn_percent", "below 100"),
])
def test_a_bad_hours_line_names_the_key_and_the_file(tmp_path, text, key, why):
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_config(path, {})
    assert key in str(raised.value) and why in str(raised.value) and str(path) in str(raised.value)


def test_a_bad_line_in_the_holidays_file_is_named_with_its_number(tmp_path):
    (tmp_path / "days.txt").write_text("2026-12-24\nChristmas Day\n")
    path = tmp_path / "p.toml"
    path.write_text('[hours]\nholidays_file = "days.txt"\n')
    with pytest.raises(ConfigError, match=r"days.txt, line 2: 'Christmas Day'"):
        load_config(path, {})


# Tickets and their deadlines ------------------------------------------------------------------

@pytest.fixture
def desk(tmp_path, backend_url):
    config = make_config(tmp_path, backend_url, support={"addresses": [SUPPORT]},
                         hours={"timezone": "Europe/Oslo", "open": "08:00", "close": "16:00"})
    config = dataclasses.replace(config, team=(_team("moscow", "Europe/Moscow", "mon-sun", "00:00", "24:00"),))
    handle = db.open_database(config)
    db.upgrade()
    yield config
    handle.close()


def _team(name, zone, days, opens, closes):
    from daemon.config import TeamConfig
    return TeamConfig(timezone=zone, days=days, open=opens, close=closes, holidays=[], name=name)


def mail_in(config, sender="Åse <ase@example.no>", subject="Skriveren virker ikke", n=1, reply_to=None) -> Ticket:
    spool.enqueue(simple_mail(frm=sender, to=SUPPORT, subject=subject, body=f"Mail {n}",
                              message_id=f"m{n}.{subject[:5]}@example.no", in_reply_to=reply_to), "test")
    pipeline.drain(config)
    return Ticket.select().order_by(Ticket.id.desc()).get()


def shift(config, ticket: Ticket, back: dt.timedelta) -> Ticket:
    """The ticket as if it had come in `back` earlier, its deadlines worked out again from then."""
    opened = ticket.created_at - back
    due = deadlines_of(config, opened, ticket.priority, ticket.group_name)
    Ticket.update(created_at=opened, waiting_since=opened, respond_by=due.respond_by,
                  respond_warn_at=due.respond_warn_at, resolve_by=due.resolve_by,
                  resolve_warn_at=due.resolve_warn_at).where(Ticket.id == ticket.id).execute()
    return Ticket.get_by_id(ticket.id)


def test_a_new_ticket_has_both_deadlines_in_business_hours_and_a_team_moves_them(desk):
    ticket = mail_in(desk)
    hours = for_team(desk, "")
    assert ticket.respond_by == hours.add(ticket.created_at, 480)
    assert ticket.respond_warn_at == hours.add(ticket.created_at, 480 * 0.8)
    assert ticket.resolve_by == hours.add(ticket.created_at, 2400)
    # A policy that raises the priority brings both forward; one that hands it to a team that never
    # closes counts them in real time.
    policies.save_policy("printers urgent", "'Skriveren' in ticket.subject", "priority:urgent")
    policies.save_policy("printers to moscow", "'Skriveren' in ticket.subject", "group:moscow")
    mail_in(desk, n=2, reply_to="m1.Skriv@example.no")
    ticket = Ticket.get_by_id(ticket.id)
    assert ticket.priority == "urgent" and ticket.group_name == "moscow"
    assert ticket.respond_by == ticket.created_at + dt.timedelta(minutes=60)
    assert ticket.resolve_by == ticket.created_at + dt.timedelta(minutes=480)


def test_the_queue_shows_both_deadlines_and_their_breach(desk):
    console = make_console(desk)
    late = shift(desk, mail_in(desk, subject="Late on both"), dt.timedelta(days=30))
    fresh = mail_in(desk, subject="Came in just now")
    rows = {row.number: row for row in queue.page(queue.Filters(sort="resolution"), 1, 50)[0]}
    now = utcnow()
    assert rows[late.number].sla(now) == "overdue" and rows[late.number].resolution(now) == "overdue"
    assert rows[fresh.number].resolution(now) in ("ok", "soon")
    assert [row.number for row in queue.page(queue.Filters(sort="resolution"), 1, 50)[0]][0] == late.number
    page = " ".join(console.client("agent").get("/tickets?sort=resolution").get_data(as_text=True).split())
    assert page.count('class="badge overdue"') == 2, "the late ticket shows both breaches"
    ticket_page = " ".join(console.client("agent").get(f"/tickets/{late.number}").get_data(as_text=True).split())
    assert "first answer overdue since" in ticket_page and "solving overdue since" in ticket_page


def test_a_warning_then_a_breach_go_to_the_assignee_and_reviewers_once_each_in_their_language(desk):
    agent = create_user("kari", "agent", "korrekt-hest-batteri", email="kari@support.example")
    create_user("rita", "reviewer", "korrekt-hest-batteri", email="rita@support.example")
    User.update(language="nb").where(User.username == "rita").execute()
    create_user("olga", "admin", "korrekt-hest-batteri", email="olga@support.example")
    User.update(language="ru").where(User.username == "olga").execute()
    create_user("ola", "agent", "korrekt-hest-batteri", email="ola@support.example")  # not assigned: not told
    ticket = mail_in(desk)
    Ticket.update(assignee=agent.id).where(Ticket.id == ticket.id).execute()
    warn_at, due = ticket.respond_warn_at, ticket.respond_by
    assert deadlines.check(desk, warn_at - dt.timedelta(minutes=1)).warnings == 0
    first = deadlines.check(desk, warn_at + dt.timedelta(minutes=1))
    again = deadlines.check(desk, warn_at + dt.timedelta(minutes=2))
    assert (first.warnings, first.breaches, again.warnings) == (1, 0, 0)
    late = deadlines.check(desk, due + dt.timedelta(seconds=1))
    assert (late.warnings, late.breaches) == (0, 1)
    assert deadlines.check(desk, due + dt.timedelta(hours=1)).breaches == 0
    notices = list(DeadlineNotice.select().order_by(DeadlineNotice.id).tuples())
    assert [(n[2], n[3]) for n in notices] == [("first_answer", "warning"), ("first_answer", "breach")]
    mails = [email.message_from_bytes(bytes(o.data), policy=email.policy.default)
             for o in Outgoing.select().where(Outgoing.kind == "deadline").order_by(Outgoing.id)]
    assert len(mails) == 6, "each notice once in English (kari), Norwegian (rita) and Russian (olga)"
    told = {(m["Content-Language"], m["To"]) for m in mails}
    assert told == {("en", "kari@support.example"), ("nb", "rita@support.example"), ("ru", "olga@support.example")}
    english = [m for m in mails if m["Content-Language"] == "en"]
    assert "First answer due soon" in english[0]["Subject"] and "First answer late" in english[1]["Subject"]
    norwegian = [m for m in mails if m["Content-Language"] == "nb"][1]
    assert "Første svar er for sent" in norwegian["Subject"]
    assert "(Europe/Oslo)" in norwegian.get_content()
    russian = [m for m in mails if m["Content-Language"] == "ru"]
    assert "Скоро срок первого ответа" in russian[0]["Subject"] and "Первый ответ просрочен" in russian[1]["Subject"]
    assert "первый ответ нужно было отправить до" in russian[1].get_content()
    assert AuditEvent.select().where((AuditEvent.ticket == ticket.id)
                                     & AuditEvent.action.startswith("deadline")).count() == 2


def test_a_ticket_answered_and_solved_in_time_is_never_told_about(desk):
    from daemon.outbound import replies
    from daemon.patrol import logbook
    reviewer = create_user("rita", "reviewer", "korrekt-hest-batteri", email="rita@support.example")
    ticket = mail_in(desk)
    replies.send_templated(desk, ticket, "reply", "reply", agent=reviewer, body="Vi ser på det.")
    assert Ticket.get_by_id(ticket.id).first_response_at is not None
    logbook.close(desk, Ticket.get_by_id(ticket.id), logbook.Note(
        situation="Åse kunne ikke skrive ut fra skriveren i tredje etasje etter oppdateringen.",
        behaviour="Sjekket køen, startet utskriftstjenesten på nytt og installerte driveren.",
        outcome="Utskrift virker igjen: oppdateringen hadde byttet ut driveren.", outcome_kind="resolved",
        cause="Oppdateringen bytter drivere", tags=("skriver",)), reviewer, notify=False, new_article=True)
    ticket = Ticket.get_by_id(ticket.id)
    assert ticket.resolved_at is not None
    assert deadlines.check(desk, ticket.resolve_by + dt.timedelta(days=30)) == deadlines.Checked()
    assert queue.resolution_state(ticket.status, ticket.resolve_by, ticket.resolved_at, utcnow()) == "solved"
    # The customer writes again: no longer solved; solving it is due anew, counted from the reply.
    mail_in(desk, n=2, reply_to="m1.Skriv@example.no")
    reopened = Ticket.get_by_id(ticket.id)
    assert reopened.resolved_at is None
    assert reopened.resolve_by == for_team(desk, "").add_each(reopened.updated_at, (2400,))[0]
    assert deadlines.check(desk, reopened.resolve_by - dt.timedelta(minutes=1)).breaches == 0
    assert deadlines.check(desk, reopened.resolve_by + dt.timedelta(minutes=1)).breaches == 1


def test_two_watchers_at_once_tell_each_breach_once(desk, tmp_path):
    create_user("rita", "reviewer", "korrekt-hest-batteri", email="rita@support.example")
    for n in range(30):
        shift(desk, mail_in(desk, subject=f"Sak {n:02d}", n=n), dt.timedelta(days=30))
    script = ("import sys, datetime as dt\n"
              "from daemon.config import load_config\nfrom daemon.store import db\n"
              "from daemon.patrol import deadlines\n"
              "config = load_config(sys.argv[1], {})\ndb.open_database(config)\n"
              "print(deadlines.check(config).breaches)\n")
    config_file = tmp_path / "desk.toml"
    config_file.write_text(f'[database]\nurl = "{desk.database.url}"\n[paths]\nvar = "{desk.paths.var}"\n'
                           f'[support]\naddresses = ["{SUPPORT}"]\n[hours]\ntimezone = "Europe/Oslo"\n'
                           f'open = "08:00"\nclose = "16:00"\n')
    runs = [subprocess.Popen([sys.executable, "-c", script, str(config_file)], stdout=subprocess.PIPE, text=True)
            for _ in range(3)]
    told = [int(run.communicate(timeout=120)[0].strip()) for run in runs]
    assert sum(told) == 60, f"30 tickets x 2 deadlines, split between the watchers as they came: {told}"
    assert DeadlineNotice.select().count() == 60
    assert Outgoing.select().where(Outgoing.kind == "deadline").count() == 60


def test_a_policy_that_reads_the_clock_fires_without_new_mail_once(desk):
    policies.save_policy("waited half a day", "ticket.business_hours_waiting >= 4 and ticket.status != 'pending'",
                         "escalate")
    policies.save_policy("late first answer", "ticket.first_answer_breached", "notify-reviewers")
    policies.save_policy("by mail only", "ticket.contact_count >= 1", "priority:high")
    ticket = mail_in(desk)
    Ticket.update(priority="normal").where(Ticket.id == ticket.id).execute()  # by mail only: fired already
    assert not Ticket.get_by_id(ticket.id).escalated
    shift(desk, ticket, dt.timedelta(days=7))
    facts = policies.facts_for(Ticket.get_by_id(ticket.id), desk)["ticket"]
    assert facts["business_hours_waiting"] >= 32 and facts["first_answer_breached"] is True
    assert facts["first_answer_due_hours"] < 0
    done = deadlines.check(desk)
    ticket = Ticket.get_by_id(ticket.id)
    assert ticket.escalated and done.policy_firings == 2
    assert ticket.priority == "normal", "a policy that reads no clock waits for mail"
    assert deadlines.check(desk).policy_firings == 0
    assert PolicyFiring.select().where(PolicyFiring.ticket == ticket.id).count() == 3


def test_the_scheduled_check_runs_once_however_many_daemons_fire(desk):
    from apscheduler.triggers.cron import CronTrigger
    shift(desk, mail_in(desk), dt.timedelta(days=30))
    create_user("rita", "reviewer", "korrekt-hest-batteri", email="rita@support.example")
    jobs = [cluster.ClusterJobs(dead_after=30) for _ in range(2)]

    class Scheduler:
        def add_job(self, *args, **kwargs):
            pass
    for each in jobs:
        each.add(Scheduler(), deadlines.JOB, CronTrigger.from_crontab(desk.sla.check_schedule, timezone="UTC"),
                 lambda period: deadlines.run_scheduled(desk, period), 3600)
    now = dt.datetime.now(dt.timezone.utc)
    assert [each.fire(deadlines.JOB, now) for each in jobs] == [True, False]
    db.open_database(desk)
    assert DeadlineNotice.select().count() == 2


def test_the_daemon_schedules_the_check(desk):
    from daemon.service import Service
    service = Service(desk, roles=("scheduler",))
    service._schedule_cluster_jobs()
    assert deadlines.JOB in service.jobs.jobs


def test_the_digest_and_the_dashboard_count_the_breaches(desk):
    create_user("rita", "reviewer", "korrekt-hest-batteri", email="rita@support.example")
    late = [shift(desk, mail_in(desk, subject=f"Sak {n}", n=n), dt.timedelta(days=30)) for n in range(3)]
    deadlines.check(desk)
    now = utcnow()
    built = digest.build(now - dt.timedelta(days=7), now + dt.timedelta(minutes=1))
    assert built.deadlines["counts"] == {"first_answer": 3, "resolution": 3, "warning": 0}
    assert built.deadlines["late_now"] == 3
    assert {b["ticket"] for b in built.deadlines["breaches"]} == {t.number for t in late}
    english = digest.render(desk, built, "en").text
    assert "== Deadlines: 3 first answers and 3 solutions late" in english
    assert "Active tickets late right now: 3." in english
    assert "3 første svar og 3 løsninger for sent" in digest.render(desk, built, "nb").text
    assert "первых ответов с опозданием: 3" in digest.render(desk, built, "ru").text
    weeks = figures.deadlines(figures.period(7))
    assert sum(w.first_answer_breaches for w in weeks) == 3 and sum(w.resolution_breaches for w in weeks) == 3
    console = make_console(desk)
    svg = console.client("reviewer").get("/reports/charts/deadlines.svg")
    assert svg.status_code == 200 and b"<svg" in svg.data


def test_policy_test_shows_the_business_hours_facts(desk, tmp_path):
    ticket = shift(desk, mail_in(desk), dt.timedelta(days=7))
    facts = policies.facts_for(ticket, desk)["ticket"]
    assert set(policies.CLOCK_VARIABLES) <= set(facts)
    assert json.dumps(facts)  # plain values, as the console and `policy test` print them
    assert policies.reads_the_clock("ticket.age_hours > 48")
    assert not policies.reads_the_clock("ticket.priority == 'high'")


def test_the_first_check_after_the_upgrade_records_old_breaches_without_a_mail(desk):
    create_user("rita", "reviewer", "korrekt-hest-batteri", email="rita@support.example")
    old = [mail_in(desk, subject=f"Gammel sak {n}", n=n) for n in range(3)]
    # As migration 0023 leaves them: opened long ago, a first-answer deadline of the old kind, nothing else.
    for ticket in old:
        opened = ticket.created_at - dt.timedelta(days=60)
        Ticket.update(created_at=opened, respond_by=opened + dt.timedelta(hours=8), respond_warn_at=None,
                      resolve_by=None, resolve_warn_at=None).where(Ticket.id == ticket.id).execute()
    done = deadlines.check(desk)
    assert done.filled == 3 and (done.warnings, done.breaches) == (0, 0)
    assert DeadlineNotice.select().where(DeadlineNotice.level == "breach").count() == 6
    assert Outgoing.select().where(Outgoing.kind == "deadline").count() == 0
    # A new ticket that goes late afterwards is told as usual.
    shift(desk, mail_in(desk, subject="Ny sak", n=9), dt.timedelta(days=30))
    assert deadlines.check(desk).breaches == 2


def test_a_deadline_moved_after_its_breach_is_warned_of_and_breached_anew_never_warned_after(desk):
    create_user("rita", "reviewer", "korrekt-hest-batteri", email="rita@support.example")
    ticket = mail_in(desk)
    breached_at = ticket.respond_by + dt.timedelta(minutes=1)
    assert deadlines.check(desk, breached_at).breaches == 1  # the first answer; solving is not due yet
    # Lowered to low: the first answer is now due later than the breach was told; told again in its turn.
    tickets.set_priority(desk, ticket, "low")
    ticket = Ticket.get_by_id(ticket.id)
    assert ticket.respond_by > breached_at
    assert DeadlineNotice.select().where(DeadlineNotice.deadline == "first_answer").count() == 0
    assert deadlines.check(desk, ticket.respond_warn_at + dt.timedelta(minutes=1)).warnings >= 1
    assert deadlines.check(desk, ticket.respond_by + dt.timedelta(minutes=1)).breaches >= 1
    # Once breached, no warning follows, whatever the clock says.
    assert deadlines.check(desk, ticket.respond_by + dt.timedelta(minutes=2)) == deadlines.Checked()


def test_a_team_takes_what_it_leaves_out_from_hours_and_a_holiday_may_be_written_loosely(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[hours]\ntimezone = "Europe/Oslo"\nholidays = [" 2026-12-25 "]\n'
                    '[[team]]\nname = "kveld"\nopen = "12:00"\nclose = "20:00"\n')
    config = load_config(path, {})
    (team,) = config.team
    assert (team.timezone, team.days, team.open, team.close) == ("Europe/Oslo", "mon-fri", "12:00", "20:00")
    assert config.hours.holidays == ["2026-12-25"] and team.holidays == ["2026-12-25"]
    # Thursday 24 December 19:00 Oslo (18:00 UTC): one evening hour, then Christmas Day and the weekend.
    assert for_team(config, "kveld").add(utc(2026, 12, 24, 18, 0), 120) == utc(2026, 12, 28, 12, 0)


def test_tickets_show_names_both_deadlines_and_what_is_late(tmp_path):
    from tests.test_cli import cli
    (tmp_path / "patroldesk.toml").write_text(
        '[database]\nurl = "sqlite:///var/desk.db"\n[smtp]\nport = 0\n[web]\nport = 0\n'
        f'[support]\naddresses = ["{SUPPORT}"]\n[hours]\ntimezone = "Europe/Oslo"\n')
    cli(tmp_path, "init", env_extra={"PATROLDESK_ADMIN_PASSWORD": "korrekt-hest-batteri"})
    (tmp_path / "a.eml").write_bytes(simple_mail(frm="ase@example.no", to=SUPPORT, subject="Skriveren",
                                                 body="Den skriver ikke."))
    cli(tmp_path, "ingest", "a.eml")
    shown = json.loads(cli(tmp_path, "tickets", "show", "10001", "--json").stdout)
    first, resolution = shown["deadlines"]["first_answer"], shown["deadlines"]["resolution"]
    assert first["met"] is None and first["warns"] < first["due"] < resolution["warns"] < resolution["due"]
    text = cli(tmp_path, "tickets", "show", "10001").stdout
    assert f"first answer due {first['due'][:10]} {first['due'][11:16]} UTC" in text and "solving due" in text
    # Late on both, as the line says.
    config = load_config(tmp_path / "patroldesk.toml", {})
    handle = db.open_database(dataclasses.replace(config, database=dataclasses.replace(
        config.database, url=f"sqlite:///{tmp_path}/var/desk.db")))
    Ticket.update(respond_by=utc(2026, 1, 5, 9, 0), resolve_by=utc(2026, 1, 9, 9, 0)).execute()
    handle.close()
    line = next(line for line in cli(tmp_path, "tickets", "show", "10001").stdout.splitlines()
                if line.startswith("priority"))
    assert line == ("priority normal; first answer due 2026-01-05 09:00 UTC, LATE; "
                    "solving due 2026-01-09 09:00 UTC, LATE")


def test_a_notice_whose_mail_cannot_be_written_is_not_recorded_and_goes_on_the_next_run(desk, caplog):
    from daemon.store.models import ReplyTemplate
    create_user("rita", "reviewer", "korrekt-hest-batteri", email="rita@support.example")
    broken = shift(desk, mail_in(desk, subject="Skriveren"), dt.timedelta(days=30))
    fine = shift(desk, mail_in(desk, subject="Nettet", n=2), dt.timedelta(days=30))
    # A team's own notice template saved before a rule it now breaks (written straight in, as an old one
    # would be): rendering it fails in the middle of the notice's transaction, for the first ticket only.
    ReplyTemplate.create(name="deadline", subject="[#{{ ticket.number }}] late",
                         text="{% if ticket.subject == 'Skriveren' %}{{ ticket.missing.name }}{% endif %}late")
    done = deadlines.check(desk)
    assert done.breaches == 2, "the other ticket's two breaches are told all the same"
    told = {n.ticket_id for n in DeadlineNotice.select()}
    assert told == {fine.id}, "nothing of the failed notice is kept: no row, so no 'told' without a mail"
    assert Outgoing.select().where(Outgoing.kind == "deadline").count() == 2
    assert "could not be told" in caplog.text
    ReplyTemplate.delete().execute()
    assert deadlines.check(desk).breaches == 2
    assert {n.ticket_id for n in DeadlineNotice.select()} == {broken.id, fine.id}
    assert Outgoing.select().where(Outgoing.kind == "deadline").count() == 4
