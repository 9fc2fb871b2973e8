"""`python -m bench [N ...]`: run the benchmarks and print JSON lines."""
import json
import sys

from bench import pipeline_ingest


def main(argv: list[str]) -> None:
    sizes = [int(arg) for arg in argv] or [1000, 5000]
    for count in sizes:
        print(json.dumps(pipeline_ingest.run(count)), flush=True)


main(sys.argv[1:])
