"""Configuration: one TOML file read once into frozen dataclasses.

Every key has a default (the embedded default that `make run` uses), so a
missing file is a valid configuration. An unknown key, a value of the wrong
type or a value out of range stops start-up with one line naming the key and
the file. Secret keys may also come from `KEY_file` (a path whose content is
the secret) or from the environment variable PATROLDESK_SECTION_KEY.

Relative paths (var, templates, a SQLite file, ca_file, *_file) are resolved
here, once, against the config file's folder (the working directory for the
embedded defaults), so every command finds the same files wherever it runs.
"""
from __future__ import annotations

import dataclasses
import difflib
import os
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from daemon.errors import ConfigError
from daemon.languages import DETECTED, SHIPPED

EMBEDDED = "<embedded defaults>"


def _key(default, *, secret=False, choices=None, minimum=None, check=None):
    """A config field: its default plus how to validate it."""
    meta = {"secret": secret, "choices": choices, "minimum": minimum, "check": check}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


def _tag_has_ref(value: str) -> str | None:
    return None if "{ref}" in value else "must contain {ref}, where the ticket number goes"


def _port_ok(value: int) -> str | None:
    return None if value <= 65535 else f"must be a port number (0-65535), not {value}"


def _folder_ok(value: str) -> str | None:
    return None if value.strip("/ ") else "must name a folder"


def _idle_ok(value: int) -> str | None:
    # Servers may drop an IDLE after 30 minutes (RFC 2177): re-issue well before.
    return None if value <= 1500 else f"must be at most 1500 (25 minutes), not {value}"


def _addresses_ok(value: list) -> str | None:
    if not value:
        return "needs at least one address"
    bad = [a for a in value if "@" not in a]
    return f"not an address: {bad[0]!r}" if bad else None


def _crontab_ok(value: str) -> str | None:
    if not value.strip():
        return None
    from apscheduler.triggers.cron import CronTrigger
    try:
        CronTrigger.from_crontab(value, timezone="UTC")
    except ValueError as exc:
        return f"is not a crontab schedule (minute hour day month weekday): {exc}"
    return None


def _pattern_ok(value: str) -> str | None:
    try:
        re.compile(value)
    except re.error as exc:
        return f"is not a valid regular expression: {exc}"
    return None


def _domains_ok(value: list) -> str | None:
    bad = [d for d in value if not isinstance(d, str) or not re.fullmatch(r"(?:[\w-]+\.)+[\w-]+", d.strip())]
    return f"not a domain name: {bad[0]!r} (write it as example.com)" if bad else None


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = _key("sqlite:///var/patroldesk.db")
    password: str = _key("", secret=True)


def _names_folder(value: str) -> str | None:
    return None if value.strip() else "must name a folder"


@dataclass(frozen=True)
class PathsConfig:
    var: str = _key("var", check=_names_folder)
    templates: str = _key("")


@dataclass(frozen=True)
class SupportConfig:
    name: str = _key("Support")
    addresses: list = _key(["support@localhost"], check=_addresses_ok)
    alerts_to: list = _key([], check=lambda v: _addresses_ok(v) if v else None)
    message_id_secret: str = _key("", secret=True)  # empty: a random key kept in var/message-id.key
    default_language: str = _key("en", choices=DETECTED)  # customers whose language is not known yet


@dataclass(frozen=True)
class SMTPConfig:
    enabled: bool = _key(True)
    protocol: str = _key("smtp", choices=("smtp", "lmtp"))
    host: str = _key("127.0.0.1")
    port: int = _key(2525, minimum=0, check=_port_ok)
    max_message_bytes: int = _key(26_214_400, minimum=1024)
    acknowledge: bool = _key(True)  # acknowledge tickets opened by mail handed to the listener


@dataclass(frozen=True)
class AutoreplyConfig:
    """The limits on mail no person writes: acknowledgements and other automatic replies."""
    acknowledgement_template: str = _key("acknowledgement")
    per_sender_per_hour: int = _key(3, minimum=0)
    per_ticket: int = _key(10, minimum=0)
    per_ticket_minutes: int = _key(10, minimum=1)
    never_to: str = _key(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply)\b", check=_pattern_ok)


# Notes that say nothing a reviewer can learn from, in the languages the team writes.
DEFAULT_PLACEHOLDERS = [
    "done", "fixed", "solved", "resolved", "ok", "okay", "n/a", "na", "none", "nothing", "see above",
    "as above", "same", "same as above", "see ticket", "see mail", "works", "works now", "closed", "-", "?",
    "готово", "сделано", "исправлено", "решено", "выполнено", "ок", "нет", "см. выше", "см выше",
    "смотри выше", "то же", "работает",
    "ferdig", "fikset", "løst", "utført", "ingen", "se over", "se ovenfor", "samme", "virker",
    "virker nå", "lukket",
]


@dataclass(frozen=True)
class TemplatesConfig:
    """The budget of every render of a mail template: a template past it is refused, its mail held."""
    render_milliseconds: int = _key(500, minimum=1)
    render_kilobytes: int = _key(256, minimum=1)  # of characters written, in units of 1,024


@dataclass(frozen=True)
class PatrolConfig:
    """What a closing note must hold (the SBO note, the patrol report)."""
    validate: bool = _key(True)
    min_length: int = _key(20, minimum=0)
    placeholders: list = _key(DEFAULT_PLACEHOLDERS)
    digest_schedule: str = _key("0 7 * * mon", check=lambda v: _crontab_ok(v))  # empty: no digest
    digest_days: int = _key(7, minimum=1)
    digest_to: list = _key([], check=lambda v: _addresses_ok(v) if v else None)


def _url_has_id(value: str) -> str | None:
    return None if not value or "{id}" in value else "must contain {id}, where the article's number goes"


_CAPTURE_KINDS = ("resolved", "workaround", "not-resolved", "escalated", "duplicate", "no-response")


def _kinds_ok(value: list) -> str | None:
    bad = [kind for kind in value if kind not in _CAPTURE_KINDS]
    return f"not an outcome kind: {bad[0]!r} (the kinds are {', '.join(_CAPTURE_KINDS)})" if bad else None


@dataclass(frozen=True)
class KnowledgeConfig:
    """Knowledge articles: capture on close, reuse before create, suggestions, reply templates."""
    capture: bool = _key(True)  # closing a ticket links it to a matching article or drafts one
    capture_kinds: list = _key(["resolved", "workaround", "not-resolved", "escalated"], check=_kinds_ok)
    match_percent: int = _key(15, minimum=1, check=lambda v: None if v <= 100 else "must be at most 100")
    link_percent: int = _key(30, minimum=1, check=lambda v: None if v <= 100 else "must be at most 100")
    article_template: str = _key("draft")  # templates/articles/NAME.j2
    suggest: bool = _key(True)  # store the best matching articles on each new ticket
    suggestions: int = _key(3, minimum=1, check=lambda v: None if v <= 20 else "must be at most 20")
    suggest_floor: int = _key(40, minimum=0)  # a suggestion's score, in hundredths, below which it is not shown
    suggest_share: int = _key(60, minimum=0, check=lambda v: None if v <= 100 else "must be at most 100")
    public_url: str = _key("", check=_url_has_id)  # where customers read a published article
    reopen_flag_after: int = _key(2, minimum=1)  # reopened tickets that flag the article they were closed with
    own_domains: list = _key([], check=_domains_ok)  # product domains kept in articles (support's always are)
    order_pattern: str = _key("", check=_pattern_ok)  # the team's order numbers, taken out of articles
    quality_sample: int = _key(5, minimum=0)  # articles per agent and week drawn for the quality index
    quality_schedule: str = _key("0 6 * * mon", check=lambda v: _crontab_ok(v))  # empty: drawn by hand only


@dataclass(frozen=True)
class RelayConfig:
    host: str = _key("")  # empty: no relay, write each mail to var/sent/ as an .eml file
    port: int = _key(25, minimum=1, check=_port_ok)
    security: str = _key("none", choices=("ssl", "starttls", "none"))
    user: str = _key("")
    password: str = _key("", secret=True)
    timeout_seconds: int = _key(30, minimum=1)
    retry_base_seconds: int = _key(30, minimum=1)
    retry_max_seconds: int = _key(3600, minimum=1)
    lease_seconds: int = _key(120, minimum=5)  # more than one SMTP transaction: see _build


@dataclass(frozen=True)
class WebConfig:
    enabled: bool = _key(True)
    host: str = _key("127.0.0.1")
    port: int = _key(5000, minimum=0, check=_port_ok)
    behind_proxy: bool = _key(False)  # trust one proxy's X-Forwarded-For/-Proto (TLS ends there)
    failed_sign_ins: int = _key(5, minimum=1)  # in a row, before the account name is locked
    lockout_minutes: int = _key(15, minimum=1)
    page_size: int = _key(50, minimum=5)
    language: str = _key("en", choices=SHIPPED)  # for people whose browser asks for none of SHIPPED


def _host_ok(value: str) -> str | None:
    if not value or re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?", value):
        return None
    return f"not a host name: {value!r} (write it as help.example.com, lower-case, no scheme or path)"


def _web_address_ok(value: str) -> str | None:
    if not value or re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
        return None
    return f"not a web address: {value!r} (write it as https://help.example.com/help)"


@dataclass(frozen=True)
class HelpConfig:
    """The public help center: the published articles for customers, and a form to write to support."""
    enabled: bool = _key(True)
    host: str = _key("", check=_host_ok)  # serve it only on this host name; empty: under /help/ on any
    url: str = _key("", check=_web_address_ok)  # where customers reach it, for links in mail
    posts_per_minute: int = _key(10, minimum=1)  # per client address: answers and contact forms
    home_articles: int = _key(10, minimum=1, check=lambda v: None if v <= 50 else "must be at most 50")


@dataclass(frozen=True)
class SLAConfig:
    """How soon a person must first answer a ticket, and solve it, by priority: minutes of business hours."""
    urgent_minutes: int = _key(60, minimum=1)
    high_minutes: int = _key(240, minimum=1)
    normal_minutes: int = _key(480, minimum=1)
    low_minutes: int = _key(1440, minimum=1)
    urgent_resolution_minutes: int = _key(480, minimum=1)
    high_resolution_minutes: int = _key(960, minimum=1)
    normal_resolution_minutes: int = _key(2400, minimum=1)
    low_resolution_minutes: int = _key(4800, minimum=1)
    # At this share of a deadline's business time the assignee and reviewers are warned, once.
    warn_percent: int = _key(80, minimum=1, check=lambda v: None if v < 100 else "must be below 100")
    # When deadlines are checked and time-based policies run (cron, UTC; once for the whole cluster).
    check_schedule: str = _key("* * * * *", check=lambda v: _crontab_ok(v) if v.strip() else "must not be empty")

    def minutes(self, priority: str) -> int:
        return getattr(self, f"{priority}_minutes", self.normal_minutes)

    def resolution_minutes(self, priority: str) -> int:
        return getattr(self, f"{priority}_resolution_minutes", self.normal_resolution_minutes)


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def weekdays(text: str) -> frozenset[int]:
    """'mon-fri', 'mon,wed,fri', 'sun-thu' or 'mon-fri,sun' as weekday numbers (Monday 0).
    A ValueError names the fault."""
    days = set()
    for part in text.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in _WEEKDAYS or (last and last not in _WEEKDAYS):
            raise ValueError(f"{part!r} is not a day or a span of days (mon, tue, ... sun; mon-fri)")
        start, end = _WEEKDAYS.index(first), _WEEKDAYS.index(last or first)
        days.update((start + step) % 7 for step in range((end - start) % 7 + 1))
    return frozenset(days)


def clock_minutes(text: str) -> int:
    """'08:30' as minutes after midnight (0-1440; '24:00' is the day's end); ValueError otherwise."""
    match = re.fullmatch(r"([01]?\d|2[0-4]):([0-5]\d)", text.strip())
    if not match or (match.group(1) == "24" and match.group(2) != "00"):
        raise ValueError(f"{text!r} is not a time of day written HH:MM (00:00 to 24:00)")
    return int(match.group(1)) * 60 + int(match.group(2))


def _parses(parse):
    """A check that passes a value `parse` takes, and says what it raised (ValueError) otherwise."""
    def check(value) -> str | None:
        try:
            parse(value)
        except ValueError as exc:
            return str(exc)
        return None
    return check


def _zone_ok(value: str) -> str | None:
    import zoneinfo
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"{value!r} is not a time zone the system knows (write it as Europe/Oslo, UTC, ...)"
    return None


def _dates_ok(value: list) -> str | None:
    for item in value:
        if _holiday(item) is None:
            return f"{item!r} is not a date written YYYY-MM-DD"
    return None


def _holiday(text: str):
    import datetime as dt
    try:
        return dt.date.fromisoformat(text.strip()[:10]) if re.match(r"\d{4}-\d\d-\d\d(\s|$)", text.strip()) else None
    except ValueError:
        return None


@dataclass(frozen=True)
class HoursConfig:
    """When the team works ([hours]); every deadline counts only these hours. A team may keep its own ([[team]])."""
    timezone: str = _key("UTC", check=_zone_ok)
    days: str = _key("mon-fri", check=_parses(weekdays))
    open: str = _key("09:00", check=_parses(clock_minutes))
    close: str = _key("17:00", check=_parses(clock_minutes))
    holidays: list = _key([], check=_dates_ok)  # "2026-12-25", ...
    holidays_file: str = _key("")  # one date a line (YYYY-MM-DD, then anything); # starts a comment


@dataclass(frozen=True)
class TeamConfig(HoursConfig):
    """A team's own hours ([[team]]): tickets whose group is `name` count their deadlines in them."""
    name: str = _key("")


@dataclass(frozen=True)
class IngestConfig:
    batch_size: int = _key(50, minimum=1)
    lease_seconds: int = _key(60, minimum=5)
    max_attempts: int = _key(3, minimum=1)
    poll_seconds: int = _key(5, minimum=1)
    max_mime_depth: int = _key(50, minimum=2)
    max_attachment_bytes: int = _key(20_971_520, minimum=0)
    # Processes that parse mail (and tell its language, and write its attachments) while the
    # pipeline's thread stores the batch before; 0: the pipeline's thread does it all.
    parse_processes: int = _key(1, minimum=0)


@dataclass(frozen=True)
class ClusterConfig:
    """Several daemons on one database: how they tell each other they are alive."""
    heartbeat_seconds: int = _key(2, minimum=1)
    # A process on another host that has not beaten for this long is dead: its mailbox, leased
    # mail and jobs are taken over (one on this host is known dead at once by its pid).
    dead_after_seconds: int = _key(10, minimum=3)


@dataclass(frozen=True)
class ThreadingConfig:
    in_reply_to: bool = _key(True)
    references: bool = _key(True)
    subject_tag: bool = _key(True)
    tag_format: str = _key("[#{ref}]", check=_tag_has_ref)
    first_number: int = _key(10001, minimum=1)


@dataclass(frozen=True)
class LogConfig:
    level: str = _key("INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))


@dataclass(frozen=True)
class MailboxConfig:
    """One IMAP mailbox to read ([[mailbox]] in the file; there may be several)."""
    name: str = _key("")  # empty: user@host
    host: str = _key("")
    port: int = _key(0, minimum=0, check=_port_ok)  # 0: 993 with ssl, else 143
    security: str = _key("ssl", choices=("ssl", "starttls", "none"))
    ca_file: str = _key("")  # trust these certificates (PEM) instead of the system's
    user: str = _key("")
    password: str = _key("", secret=True)
    password_env: str = _key("")  # the name of an environment variable holding the password
    folder: str = _key("INBOX", check=_folder_ok)
    processed_folder: str = _key("patroldesk/processed", check=_folder_ok)
    quarantine_folder: str = _key("patroldesk/quarantine", check=_folder_ok)
    addresses: list = _key([])  # empty: [support] addresses
    read_only: bool = _key(False)
    idle: bool = _key(True)
    idle_seconds: int = _key(600, minimum=10, check=_idle_ok)
    poll_seconds: int = _key(60, minimum=1)
    batch_size: int = _key(100, minimum=1)
    max_message_bytes: int = _key(52_428_800, minimum=1024)
    timeout_seconds: int = _key(30, minimum=1)
    backoff_max_seconds: int = _key(300, minimum=1)
    alert_after_seconds: int = _key(900, minimum=0)
    acknowledge: bool = _key(True)  # acknowledge tickets opened by mail from this mailbox

    @property
    def label(self) -> str:
        return self.name or f"{self.user}@{self.host}"

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.security == "ssl" else 143)


@dataclass(frozen=True)
class Config:
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    support: SupportConfig = field(default_factory=SupportConfig)
    smtp: SMTPConfig = field(default_factory=SMTPConfig)
    relay: RelayConfig = field(default_factory=RelayConfig)
    autoreply: AutoreplyConfig = field(default_factory=AutoreplyConfig)
    templates: TemplatesConfig = field(default_factory=TemplatesConfig)
    patrol: PatrolConfig = field(default_factory=PatrolConfig)
    knowledge: KnowledgeConfig = field(default_factory=KnowledgeConfig)
    web: WebConfig = field(default_factory=WebConfig)
    help: HelpConfig = field(default_factory=HelpConfig)
    sla: SLAConfig = field(default_factory=SLAConfig)
    hours: HoursConfig = field(default_factory=HoursConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    threading: ThreadingConfig = field(default_factory=ThreadingConfig)
    log: LogConfig = field(default_factory=LogConfig)
    mailbox: tuple = ()  # of MailboxConfig
    team: tuple = ()  # of TeamConfig
    source: str = EMBEDDED

    @property
    def var_dir(self) -> Path:
        return Path(self.paths.var)

    @property
    def attachments_dir(self) -> Path:
        return self.var_dir / "attachments"

    @property
    def templates_dir(self) -> Path:
        """The templates/ folder: configured, beside the code, or installed under share/."""
        if self.paths.templates:
            return Path(self.paths.templates)
        return _SHIPPED_TEMPLATES

    @property
    def sent_dir(self) -> Path:
        return self.var_dir / "sent"

    @property
    def our_addresses(self) -> set[str]:
        """Every address support answers from: mail from these is a loop."""
        boxes = [a for box in self.mailbox for a in box.addresses]
        return {a.lower() for a in (*self.support.addresses, *boxes)}


def _shipped_templates() -> Path:
    beside_code = Path(__file__).resolve().parent.parent / "templates"
    if beside_code.is_dir():
        return beside_code
    return Path(sys.prefix) / "share" / "patroldesk" / "templates"


_SHIPPED_TEMPLATES = _shipped_templates()  # found once: rendering asks for it per mail
_ARRAYS = {"mailbox": MailboxConfig, "team": TeamConfig}  # [[name]] tables: any number of them


def documented_keys() -> list[str]:
    """Every `section.key` the loader accepts (secrets' _file forms excluded)."""
    tables = {**_section_classes(), **_ARRAYS}
    return [f"{name}.{f.name}" for name, cls in tables.items() for f in dataclasses.fields(cls)]


def _section_classes() -> dict[str, type]:
    return {f.name: f.default_factory for f in dataclasses.fields(Config)
            if f.name != "source" and f.name not in _ARRAYS}


def load_config(path: str | Path | None, environ: Mapping[str, str]) -> Config:
    """Read the configuration: `path`, else $PATROLDESK_CONFIG, else the defaults.

    Every path in the result is absolute: relative ones are taken from the file's folder
    (from the working directory for the embedded defaults)."""
    path = path or environ.get("PATROLDESK_CONFIG") or None
    if path is None:
        return _build({}, EMBEDDED, environ, Path.cwd())
    source = str(path)
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError("(file)", source, "no such file") from None
    except OSError as exc:
        raise ConfigError("(file)", source, f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError("(file)", source, "not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("(syntax)", source, str(exc)) from None
    # abspath, not resolve(): a symlinked file's paths follow the name it was given by.
    return _build(data, source, environ, Path(os.path.abspath(path)).parent)


def _build(data: dict, source: str, environ: Mapping[str, str], base: Path) -> Config:
    classes = _section_classes()
    for name in data:
        if name in _ARRAYS:
            if not isinstance(data[name], list):
                raise ConfigError(name, source, "must be written [[%s]], one table per entry" % name)
        elif name not in classes:
            raise ConfigError(name, source, "unknown section" + _did_you_mean(name, [*classes, *_ARRAYS]))
        elif not isinstance(data[name], dict):
            raise ConfigError(name, source, "must be a table ([%s])" % name)
    sections = {name: _section(name, cls, data.get(name, {}), source, environ, base)
                for name, cls in classes.items()}
    sections["paths"] = _absolute_paths(sections["paths"], base)
    sections["database"] = dataclasses.replace(sections["database"],
                                               url=_absolute_sqlite(sections["database"].url, base))
    mailboxes = tuple(_mailbox(i, table, source, environ, base) for i, table in enumerate(data.get("mailbox", [])))
    labels = [box.label for box in mailboxes]
    for label in labels:
        if labels.count(label) > 1:
            raise ConfigError("mailbox.name", source, f"two mailboxes are called {label!r}; name them apart")
    relay = sections["relay"]
    if relay.lease_seconds < 2 * relay.timeout_seconds:
        # A lease shorter than one slow SMTP transaction lets a second sender send the mail again.
        raise ConfigError("relay.lease_seconds", source, f"must be at least twice relay.timeout_seconds "
                          f"({relay.timeout_seconds}), not {relay.lease_seconds}")
    sections["hours"] = _hours("hours", sections["hours"], source, base)
    teams = tuple(_team(i, table, data.get("hours", {}), source, environ, base)
                  for i, table in enumerate(data.get("team", [])))
    names = [team.name for team in teams]
    for team_name in names:
        if names.count(team_name) > 1:
            raise ConfigError("team.name", source, f"two teams are called {team_name!r}; one [[team]] each")
    return Config(**sections, mailbox=mailboxes, team=teams, source=source)


def _team(index: int, table: dict, hours: dict, source: str, environ: Mapping[str, str], base: Path) -> TeamConfig:
    """A [[team]]: what it leaves out is [hours]' (a team in another zone sets its own holidays, or [])."""
    name = f"team[{index + 1}]"
    if not isinstance(table, dict):
        raise ConfigError(name, source, "must be a table: write it as [[team]] with keys below")
    team = _section(name, TeamConfig, {**hours, **table}, source, environ, base)
    if not team.name.strip():
        raise ConfigError(f"{name}.name", source, "is required: the group its tickets are assigned to")
    return _hours(name, team, source, base)


def _hours(name: str, hours, source: str, base: Path):
    """Hours checked as a whole (opening before closing) with the holidays file's dates joined to the list."""
    if clock_minutes(hours.open) >= clock_minutes(hours.close):
        raise ConfigError(f"{name}.close", source, f"must be after {name}.open ({hours.open}), not {hours.close}")
    hours = dataclasses.replace(hours, holidays=[_holiday(day).isoformat() for day in hours.holidays])
    if not hours.holidays_file:
        return hours
    path = _absolute(base, hours.holidays_file)
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{name}.holidays_file", source,
                          f"cannot read {path}: {getattr(exc, 'strerror', None) or 'not UTF-8 text'}") from None
    dates = []
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        day = _holiday(text)
        if day is None:
            raise ConfigError(f"{name}.holidays_file", source,
                              f"{path}, line {number}: {text!r} does not start with a date written YYYY-MM-DD")
        dates.append(day.isoformat())
    return dataclasses.replace(hours, holidays_file=path, holidays=[*hours.holidays, *dates])


def _absolute(base: Path, value: str) -> str:
    """`value` as an absolute path, a relative one taken from `base`."""
    return os.path.normpath(base / Path(value).expanduser())


def _absolute_paths(paths: PathsConfig, base: Path) -> PathsConfig:
    templates = _absolute(base, paths.templates) if paths.templates else ""
    return dataclasses.replace(paths, var=_absolute(base, paths.var), templates=templates)


def _absolute_sqlite(url: str, base: Path) -> str:
    """A SQLite URL naming its file by an absolute path (any other URL as it is: the database checks it)."""
    prefix = "sqlite:///"
    file = url[len(prefix):]
    if not url.startswith(prefix) or file in ("", ":memory:"):
        return url
    return prefix + _absolute(base, file)


def _did_you_mean(name: str, known: list[str], prefix: str = "") -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {prefix}{close[0]}?)" if close else ""


def _mailbox(index: int, table: dict, source: str, environ: Mapping[str, str], base: Path) -> MailboxConfig:
    name = f"mailbox[{index + 1}]"
    if not isinstance(table, dict):
        raise ConfigError(name, source, "must be a table: write it as [[mailbox]] with keys below")
    box = _section(name, MailboxConfig, table, source, environ, base)
    if box.ca_file:
        box = dataclasses.replace(box, ca_file=_absolute(base, box.ca_file))
    for required in ("host", "user"):
        if not getattr(box, required):
            raise ConfigError(f"{name}.{required}", source, "is required")
    if box.password_env:
        if box.password_env not in environ:
            raise ConfigError(f"{name}.password_env", source,
                              f"the environment variable {box.password_env} is not set")
        box = dataclasses.replace(box, password=environ[box.password_env])
    if not box.password:
        raise ConfigError(f"{name}.password", source, "is required (or password_file, or password_env)")
    if box.ca_file and not Path(box.ca_file).is_file():
        raise ConfigError(f"{name}.ca_file", source, f"no such file: {box.ca_file}")
    bad = [a for a in box.addresses if "@" not in a]
    if bad:
        raise ConfigError(f"{name}.addresses", source, f"not an address: {bad[0]!r}")
    return box


def _section(name: str, cls: type, table: dict, source: str, environ: Mapping[str, str], base: Path):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    file_forms = [f"{key}_file" for key, f in fields.items() if f.metadata["secret"]]
    table = dict(table)
    for key in list(table):
        secret = key[:-5] if key.endswith("_file") else None
        if secret in fields and fields[secret].metadata["secret"]:
            table[secret] = _read_secret_file(f"{name}.{key}", table.pop(key), source, base)
        elif key not in fields:
            raise ConfigError(f"{name}.{key}", source, "unknown key" + _did_you_mean(key, [*fields, *file_forms],
                                                                                     f"{name}."))
    for key, f in fields.items():
        env_name = f"PATROLDESK_{name}_{key}".upper()
        if f.metadata["secret"] and env_name in environ and name.isidentifier():
            table[key] = environ[env_name]
    values = {key: _checked(f"{name}.{key}", f, table[key], source)
              for key, f in fields.items() if key in table}
    return cls(**values)


def _read_secret_file(key: str, value: Any, source: str, base: Path) -> str:
    if not isinstance(value, str):
        raise ConfigError(key, source, "must be a path (a string)")
    try:
        return Path(_absolute(base, value)).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(key, source, f"cannot read {value}: {exc.strerror}") from None


_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", list: "a list of strings"}


def _checked(key: str, f: dataclasses.Field, value: Any, source: str) -> Any:
    expected = {"str": str, "int": int, "bool": bool, "list": list}[f.type]
    wrong_int = expected is int and isinstance(value, bool)
    if not isinstance(value, expected) or wrong_int:
        shown = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
        raise ConfigError(key, source, f"must be {_TYPE_NAMES[expected]}, not {shown}")
    if expected is list and not all(isinstance(item, str) for item in value):
        raise ConfigError(key, source, "must be a list of strings")
    meta = f.metadata
    if meta["choices"] and value not in meta["choices"]:
        raise ConfigError(key, source, f"must be one of {', '.join(meta['choices'])}, not {value!r}")
    if meta["minimum"] is not None and value < meta["minimum"]:
        raise ConfigError(key, source, f"must be at least {meta['minimum']}, not {value}")
    problem = meta["check"](value) if meta["check"] else None
    if problem:
        raise ConfigError(key, source, problem)
    return value
