"""Logging: named loggers by concern, one line per event, to standard error.

patroldesk.ingest   one disposition line per mail, starting with its Message-ID
patroldesk.smtp     the SMTP/LMTP edge
patroldesk.service  start, stop, what listens where
"""
import logging
import sys


def configure(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("mail.log", "apscheduler", "werkzeug", "peewee", "imapclient"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
