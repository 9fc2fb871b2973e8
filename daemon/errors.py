"""The named failures of patroldesk.

Domain functions raise these with what a person needs to fix the cause;
front doors (CLI, SMTP, console) turn them into a line, a reply code or a
form message.

A message a person reads is a daemon.languages.Text (`N_(...)`): English
wherever it becomes text, and said in the agent's language by the console.
"""


class PatroldeskError(Exception):
    """Base of every failure patroldesk raises on purpose."""


class ConfigError(PatroldeskError):
    """A configuration value is missing, unknown or of the wrong type.

    The message names the key and the file, on one line.
    """

    def __init__(self, key: str, source: str, problem: str):
        self.key, self.source, self.problem = key, source, problem
        super().__init__(f"{source}: {key}: {problem}")


class NoInstallation(PatroldeskError):
    """A command found no installation (configuration file, data folder, database) to work on."""


class SchemaOutOfDate(PatroldeskError):
    """The database lacks migrations this code needs."""


class KeyMismatch(PatroldeskError):
    """This daemon's signing key is not the one the installation's other daemons use."""


class NotFound(PatroldeskError):
    """A ticket, user or spooled mail named by a person does not exist."""


class Discard(PatroldeskError):
    """A pipeline stage ends a mail on purpose; the mail is kept and marked.

    `outcome` is what the disposition reports (`duplicate`, `ignored`, `bounced`);
    `ticket` the number of the ticket it belongs to, where there is one.
    What the stages wrote is rolled back; `record`, when given, is called in
    the transaction that marks the mail, to write what the decision means
    (a bounce marks our mail bounced).
    """

    def __init__(self, reason: str, outcome: str = "ignored", ticket: int | None = None, record=None):
        self.reason, self.outcome, self.ticket, self.record = reason, outcome, ticket, record
        super().__init__(reason)


class Quarantine(PatroldeskError):
    """A stage refuses a mail it cannot handle; it goes to quarantine."""


class NoReplyAddress(PatroldeskError):
    """Mail cannot go where it was meant to: there is no address, or it is not a mail address."""
