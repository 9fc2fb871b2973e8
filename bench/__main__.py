"""`python -m bench [N ...]`: run the benchmarks and print one JSON line each.

For each N (default 1,000 and 5,000): the in-process spool and pipeline
figures, then the end-to-end figures with a real Dovecot mailbox, with the
default acknowledgement limits and with every new ticket acknowledged.
"""
import json
import sys

from bench import ingest, pipeline_ingest


def main(argv: list[str]) -> None:
    sizes = [int(arg) for arg in argv] or [1000, 5000]
    for count in sizes:
        print(json.dumps(pipeline_ingest.run(count)), flush=True)
        print(json.dumps(ingest.run(count)), flush=True)
        print(json.dumps(ingest.run(count, every_ticket_acknowledged=True)), flush=True)


main(sys.argv[1:])
