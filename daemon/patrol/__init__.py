"""The patrol: SBO notes in an append-only, hash-chained log, their review, the digest, the dashboard, policies.

logbook       SBO notes and the patrol-report log: close, correct, review, verify the chain
digest        the period's reports mailed to the reviewers, what did not end well first
dashboard     the reviewers' figures: volume, outcomes, response and close times, knowledge use
policies      explicit policies: conditions over customers and tickets, and their actions
deadlines     the deadline watch: warnings and breaches told once, time-based policies on a schedule
policy_state  switching a policy off and on again without losing it or what it did

Other packages call what is named below; front doors may also use the modules themselves.
"""
from daemon.patrol.logbook import (
    Note, NoteRefused, add_interim, close, correct, get_report, list_reports, report_dict, review, revisions, tags_ok,
    verify,
)
from daemon.patrol.policies import run_policies

__all__ = [
    "Note", "NoteRefused", "add_interim", "close", "correct", "get_report", "list_reports", "report_dict",
    "review", "revisions", "tags_ok", "verify",
    "run_policies",
]
