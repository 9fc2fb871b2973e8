"""patroldesk: an email-integrated helpdesk daemon."""

__version__ = "0.1.0"
