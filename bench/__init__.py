"""Benchmarks: `make bench` runs them and prints one JSON object per figure set."""
