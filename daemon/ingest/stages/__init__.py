"""Pipeline stages: one module per stage, each with run(ctx); the pipeline's STAGES gives their order."""
from daemon.ingest.stages import (  # noqa: F401 - the pipeline looks each stage up by its name
    acknowledge, attachments, bounce, dedupe, language, loop_guard, policies, suggest, threading, ticket,
)
