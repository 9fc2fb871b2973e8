"""Pipeline stages: one module per stage, each with run(ctx)."""
