"""Ingest: mail in through the edges, into the spool, and through the pipeline's stages to a ticket.

sources/   the edges: the spool, the SMTP/LMTP listener, the IMAP poller, the help center's contact form
pipeline   each spooled mail, in one transaction, through STAGES, with an explicit outcome
prepare    the helper processes: mail parsed (and automatic mail rendered) beside the writing thread
drain      `run --drain`: every mailbox read once, the spool processed, mail filed and sent
stages/    one module per stage, each with run(ctx)
requeue    one spooled mail processed at once for a person waiting (`ingest`, a retry)
importer   `import`: an mbox, a Maildir or a folder of .eml files through the pipeline, resumable

No other domain package calls ingest; the service, the CLI and the console use its modules.
"""
