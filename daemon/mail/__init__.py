"""Pure functions turning raw mail bytes into a ParsedMail (see daemon.mail.parse)."""
