"""`python -m bench [N ...]`: run the benchmarks and print one JSON line each.

For each N (default 1,000 and 5,000): the in-process spool and pipeline
figures on SQLite and on PostgreSQL, then the end-to-end figures with a real Dovecot mailbox, with the
default acknowledgement limits and with every new ticket acknowledged.
Then whether ingest cost stays flat as the store grows (bench/scale.py): `run --drain` of the largest
corpus into an empty SQLite database and into one holding 100,000 tickets and 500,000 messages, one
drain of 50,000 mails with its rate per 5,000, and the empty-database run on PostgreSQL beside SQLite.
Then, once: knowledge search latency over 20,000 articles, the pipeline
with article suggestions off and on over the same base, and the largest
end-to-end run again with those 20,000 checked articles to suggest from;
then the console's server-side latency over 100,000 tickets and 500,000 messages, and the help
center's (search and article pages over 20,000 published variants: bench/helpcenter.py); last, finding one
problem across languages (the corpus replay) and what language detection and suggestion cost in ingest
(per new ticket, and per customer reply, which refreshes the ticket's suggestions);
the KCS replay of tests/kb_corpus.py worked by an agent (drafts against problems, links made without asking
and wrong ones, questions asked, suggestion noise, gap groups: bench/capture.py);
and several daemons on one PostgreSQL database: ingest with 1, 2 and 3 daemons reading one mailbox
(mails per second and correctness), and how soon a mailbox is read again after its daemon is killed;
then `import mbox` of 50,000 generated mails: mails per second and the importing process's peak memory;
last, `backup` and `restore` (into a folder, and `--into` PostgreSQL) of the console bench's 100,000-ticket store.
"""
import json
import sys

from bench import (
    backup, capture, cluster, console, crosslang, helpcenter, importer, ingest, knowledge, pipeline_ingest, race,
    scale,
)


def main(argv: list[str]) -> None:
    sizes = [int(arg) for arg in argv] or [1000, 5000]
    print(json.dumps(race.run(max(sizes))), flush=True)  # first: against django-helpdesk, 3 pairs
    for count in sizes:
        print(json.dumps(pipeline_ingest.run(count)), flush=True)
        print(json.dumps(pipeline_ingest.run(count, postgresql=True)), flush=True)
        print(json.dumps(ingest.run(count)), flush=True)
        print(json.dumps(ingest.run(count, every_ticket_acknowledged=True)), flush=True)
    print(json.dumps(scale.flat(max(sizes))), flush=True)  # the same rate into an empty and a full store?
    print(json.dumps(scale.curve()), flush=True)  # 50,000 mails in one drain, rate per 5,000
    print(json.dumps(scale.postgresql(max(sizes))), flush=True)  # one daemon on PostgreSQL, beside SQLite
    print(json.dumps(knowledge.search_latency()), flush=True)
    print(json.dumps(knowledge.ingest_with_suggestions()), flush=True)
    largest = max(sizes)  # end to end again, now with a base of checked articles to suggest from
    print(json.dumps(ingest.run(largest, checked_articles=20_000)), flush=True)
    print(json.dumps(console.latency()), flush=True)
    print(json.dumps(helpcenter.latency()), flush=True)  # the help center: search and article pages, 20,000 published
    print(json.dumps(crosslang.corpus_replay(lexicon=False), ensure_ascii=False), flush=True)
    print(json.dumps(crosslang.corpus_replay(), ensure_ascii=False), flush=True)
    print(json.dumps(crosslang.ingest_cost()), flush=True)
    print(json.dumps(capture.replay()), flush=True)  # the KCS replay: drafts, links, questions, suggestions, gaps
    for daemons in (1, 2, 3):
        print(json.dumps(cluster.throughput(largest, daemons)), flush=True)
    print(json.dumps(cluster.failover()), flush=True)
    print(json.dumps(importer.run()), flush=True)  # `import mbox` of 50,000 mails: rate and peak memory
    print(json.dumps(backup.run()), flush=True)  # backup and restore of the console bench's 100,000-ticket store


main(sys.argv[1:])
