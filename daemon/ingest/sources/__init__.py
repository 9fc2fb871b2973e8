"""The edges where mail enters: spool, SMTP/LMTP listener, IMAP poller, the help center's contact form."""
