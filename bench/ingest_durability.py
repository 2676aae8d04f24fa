"""Check that an acknowledged batch of events survives a server crash, and that retries store nothing twice.

Usage (from the project root, PostgreSQL and Redis running, gunicorn installed in the venv):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/edupath_bench_ingest .venv/bin/python bench/ingest_durability.py \
        [--clients 4] [--kills 3] [--run-seconds 4]

Use a database of its own (it is migrated and gets the demo data). For each of `--kills` rounds:

1. start `gunicorn config.wsgi:application --workers 2` (sync workers, config.settings.local, DJANGO_DEBUG=false);
2. `--clients` threads POST batches of 500 new events (uuid4 ids, each batch's ids recorded) to
   /api/v1/events/batch/ with an integration API key, in a loop; a batch counts as acknowledged only when its HTTP 200
   answer was read;
3. after a random 1..`--run-seconds` s, SIGKILL the whole process group (gunicorn master and workers) while batches
   are in flight (and, to exercise "committed but never acknowledged" every run, the client throws away a fraction
   `--drop-answers` of the 200 answers it reads, as if they were lost in the crash); wait until PostgreSQL has no
   session of the killed workers left (a transaction whose COMMIT reached the server may still complete), then
   count, for every unacknowledged batch, how many of its events are stored;
4. restart the server and retry every unacknowledged batch with the same event ids, until each is acknowledged.

Then, in the database: every event id of every batch (acknowledged at first or on retry) is stored exactly once in
analytics_learningevent, no event id appears twice there, and each retried batch answered `duplicates` equal to the
number of its events that were committed before the kill (and `accepted` the rest). The last line printed is:

    RESULT acknowledged=... retried_batches=... committed_unacknowledged=... committed_unacknowledged_by_kill=...
           lost=0 duplicates_stored=0 retry_mismatches=0   (one line)
"""

import argparse
import http.client
import os
import random
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
import psycopg
from _support import (
    HOST,
    Demo,
    api_headers,
    batch_body,
    demo_setup,
    free_port,
    make_batches,
    manage,
    post,
    running_server,
    server_command,
    stop_on_signal,
    wait_until_serving,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/edupath_bench_ingest"
BATCH_SIZE = 500
PATH = "/api/v1/events/batch/"
SETTLE_TIMEOUT_SECONDS = 30


@dataclass
class Batch:
    index: int
    event_ids: list[str]
    body: bytes
    acknowledged: bool = False
    sent: bool = False
    stored_before_retry: int = 0
    answer_dropped: bool = False
    retry_outcome: dict | None = None


def load(
    port: int, demo: Demo, batches: list[Batch], clients: int, stop: threading.Event, drop: float, rng: random.Random
) -> list[str]:
    """Post batches in order until `stop` or they run out; mark those whose 200 was read. A fraction `drop` of the
    200 answers is thrown away as if lost on the way (the server committed, the client never heard): a crash
    between COMMIT and the answer is a window of well under a millisecond, which a random kill hardly ever hits."""
    headers = api_headers(demo)
    lock = threading.Lock()
    pending = iter(batches)
    errors: list[str] = []

    def client() -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=30)
        while not stop.is_set():
            with lock:
                batch = next(pending, None)
            if batch is None:
                return
            batch.sent = True
            try:
                status, content = post(connection, PATH, batch.body, headers)
            except (OSError, http.client.HTTPException) as exc:
                errors.append(f"{exc.__class__.__name__}")
                connection.close()
                continue
            if status == 200 and not orjson.loads(content)["rejected"]:
                with lock:
                    dropped = rng.random() < drop
                if dropped:
                    batch.answer_dropped = True
                    connection.close()
                else:
                    batch.acknowledged = True
            else:
                errors.append(f"HTTP {status}: {content[:200]!r}")

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(timeout=0.2)
    return errors


def retry(port: int, demo: Demo, batches: list[Batch]) -> None:
    headers = api_headers(demo)
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    for batch in batches:
        for _attempt in range(5):
            try:
                status, content = post(connection, PATH, batch.body, headers)
            except (OSError, http.client.HTTPException):
                connection.close()
                time.sleep(0.5)
                continue
            if status == 200:
                batch.retry_outcome = orjson.loads(content)
                batch.acknowledged = True
                break
            raise SystemExit(f"retry of batch {batch.index} answered {status}: {content[:300]!r}")
        else:
            raise SystemExit(f"batch {batch.index} could not be retried")


def wait_for_orphans(database_url: str) -> int:
    """Wait until no session of the killed server is left on the database; return how many there were."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
    first = None
    with psycopg.connect(database_url, autocommit=True) as connection:
        while True:
            row = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'"
            ).fetchone()
            count = row[0] if row else 0
            first = count if first is None else first
            if count == 0 or time.monotonic() > deadline:
                return first
            time.sleep(0.1)


def stored_counts(database_url: str, event_ids: list[str]) -> dict[str, int]:
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT event_id::text, count(*) FROM analytics_learningevent WHERE event_id = ANY(%s::uuid[]) GROUP BY 1",
            [event_ids],
        ).fetchall()
    return dict(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=4, help="concurrent posting clients (default 4)")
    parser.add_argument("--kills", type=int, default=3, help="crash rounds (default 3)")
    parser.add_argument("--run-seconds", type=float, default=4.0, help="longest run before a kill (default 4)")
    parser.add_argument(
        "--drop-answers", type=float, default=0.05, help="fraction of 200 answers the client discards (default 0.05)"
    )
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--skip-setup", action="store_true", help="do not run migrate and seed_demo")
    arguments = parser.parse_args()
    signal.signal(signal.SIGTERM, stop_on_signal)
    began = time.monotonic()
    rng = random.Random(arguments.seed)

    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    print(f"# machine: {os.cpu_count()} cores; database {database_url}; seed {arguments.seed}", flush=True)
    if not arguments.skip_setup:
        manage("migrate", "--noinput", "-v", "0", database_url=database_url)
        manage("seed_demo", "--quiet", database_url=database_url)
    demo = demo_setup(database_url)
    log_dir = Path(tempfile.mkdtemp(prefix="edupath-bench-durability-"))
    print(f"# server logs: {log_dir}", flush=True)

    all_batches: list[Batch] = []
    retried: list[Batch] = []
    orphans_total = 0
    for round_number in range(1, arguments.kills + 1):
        # Enough batches that the clients never run out before the kill.
        raw = make_batches(demo, 120, BATCH_SIZE, seed=rng.randrange(2**31))
        batches = [
            Batch(len(all_batches) + i, [e["event_id"] for e in events], batch_body(events))
            for i, events in enumerate(raw)
        ]
        all_batches.extend(batches)
        port = free_port()
        command = server_command("gunicorn", port, "sync")
        log_path = log_dir / f"gunicorn-{round_number}.log"
        stop = threading.Event()
        with running_server(command, database_url, log_path) as process:
            wait_until_serving(port, process, log_path)
            errors: list[str] = []
            loader = threading.Thread(
                target=lambda *args: args[-1].extend(load(*args[:-1])),
                args=(port, demo, batches, arguments.clients, stop, arguments.drop_answers, rng, errors),
                daemon=True,
            )
            loader.start()
            time.sleep(rng.uniform(1.0, arguments.run_seconds))
            os.killpg(process.pid, signal.SIGKILL)  # master and workers, mid-run
            process.wait()
            killed_at = time.monotonic()
            stop.set()
            while loader.is_alive():
                loader.join(timeout=0.2)
        orphans = wait_for_orphans(database_url)
        orphans_total += orphans
        unacknowledged = [b for b in batches if b.sent and not b.acknowledged]
        counts = stored_counts(database_url, [i for b in unacknowledged for i in b.event_ids])
        for batch in unacknowledged:
            batch.stored_before_retry = sum(counts.get(i, 0) for i in batch.event_ids)
        print(
            f"round {round_number}: sent={sum(b.sent for b in batches)} "
            f"acknowledged={sum(b.acknowledged for b in batches)} unacknowledged={len(unacknowledged)} "
            f"(stored before retry: {[b.stored_before_retry for b in unacknowledged]}); client errors={len(errors)}; "
            f"database sessions of the killed server still open after the kill={orphans} "
            f"(settled in {time.monotonic() - killed_at:.1f}s)",
            flush=True,
        )
        # Restart and retry what was not acknowledged, with the same event ids.
        port = free_port()
        command = server_command("gunicorn", port, "sync")
        log_path = log_dir / f"gunicorn-{round_number}-restart.log"
        with running_server(command, database_url, log_path) as process:
            wait_until_serving(port, process, log_path)
            retry(port, demo, unacknowledged)
        retried.extend(unacknowledged)

    # Checks in the database.
    done = [b for b in all_batches if b.acknowledged]
    ids = [i for b in done for i in b.event_ids]
    counts = stored_counts(database_url, ids)
    lost = sum(1 for i in ids if counts.get(i, 0) == 0)
    stored_twice_here = sum(1 for i in ids if counts.get(i, 0) > 1)
    with psycopg.connect(database_url) as connection:
        row = connection.execute(
            "SELECT count(*) FROM (SELECT event_id FROM analytics_learningevent GROUP BY 1 HAVING count(*) > 1) d"
        ).fetchone()
        duplicate_ids_in_table = row[0] if row else 0
    mismatches = []
    for batch in retried:
        outcome = batch.retry_outcome or {}
        expected = (BATCH_SIZE - batch.stored_before_retry, batch.stored_before_retry)
        if (outcome.get("accepted"), outcome.get("duplicates")) != expected:
            mismatches.append((batch.index, expected, outcome))
    committed_unacknowledged = sum(1 for b in retried if b.stored_before_retry)
    by_kill = sum(1 for b in retried if b.stored_before_retry and not b.answer_dropped)
    never_sent = [b for b in all_batches if not b.sent]
    print(
        f"batches acknowledged (first try or retry): {len(done)}, events {len(ids)}; never sent (after a kill): "
        f"{len(never_sent)}; retried: {len(retried)}, of which committed before the kill but unacknowledged: "
        f"{committed_unacknowledged} ({sum(b.stored_before_retry for b in retried)} events, answered as duplicates; "
        f"{sum(b.answer_dropped for b in retried)} answers "
        f"dropped on purpose by the client, {by_kill} cut by the kill)",
        flush=True,
    )
    print(
        f"checks: lost={lost} stored_more_than_once(these ids)={stored_twice_here} "
        f"event_ids_twice_in_table={duplicate_ids_in_table} retry_answers_not_matching={len(mismatches)} "
        f"orphan_sessions_after_kills={orphans_total} elapsed={time.monotonic() - began:.0f}s",
        flush=True,
    )
    for mismatch in mismatches[:5]:
        print(f"#   retry mismatch: {mismatch}", flush=True)
    print(
        f"RESULT acknowledged={len(ids)} retried_batches={len(retried)} "
        f"committed_unacknowledged={committed_unacknowledged} committed_unacknowledged_by_kill={by_kill} lost={lost} "
        f"duplicates_stored={stored_twice_here + duplicate_ids_in_table} retry_mismatches={len(mismatches)}",
        flush=True,
    )


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted; every server this run started has been stopped")
