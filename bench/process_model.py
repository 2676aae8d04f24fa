"""Measure the HTTP process model: daphne (ASGI) against gunicorn (WSGI) serving the same sync DRF views.

Usage (from the project root, PostgreSQL and Redis running):

    .venv/bin/pip install gunicorn        # measurement only; not a runtime dependency
    .venv/bin/python bench/process_model.py [--clients 16] [--requests 2000] [--gunicorn-worker-class sync]

The script migrates the database named by DATABASE_URL (default: the local `edupath`), creates the demo data
(`seed_demo --quiet`, idempotent), then for each server in turn: starts it on a free 127.0.0.1 port with
config.settings.local and DJANGO_DEBUG=false, logs in as the demo teacher for a JWT, warms up, and sends a fixed number
of requests from concurrent keep-alive clients (threads + http.client, no extra tools) to two authenticated endpoints:

- GET /api/v1/courses/  a scoped, paginated list (the typical API read; the RESULT line is about this one);
- GET /api/v1/me/       a light endpoint, no static files and no /health (which waits for Celery ping replies).

While a server is under load a sampler counts the target database's sessions in pg_stat_activity, and the server's
log is searched for connection errors. Every server started is stopped on exit, also on errors and Ctrl-C. The last
line printed is:

    RESULT daphne_rps=... gunicorn_rps=... daphne_p95_ms=... gunicorn_p95_ms=... ratio=...

where ratio = gunicorn_rps / daphne_rps. The figures depend on the machine; record its core count with them.
"""

import argparse
import atexit
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

PROJECT_DIR = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/edupath"
DEMO_USERNAME = "teacher1"
DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "edupath-demo")
ENDPOINTS = ["/api/v1/courses/", "/api/v1/me/"]
PRIMARY_ENDPOINT = ENDPOINTS[0]
STARTUP_TIMEOUT_SECONDS = 60
REQUEST_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 15
SAMPLE_INTERVAL_SECONDS = 0.1
# Lines in a server log that mean the database refused or starved a request.
CONNECTION_ERROR = re.compile(r"too many (clients|connections)|PoolTimeout|OperationalError|remaining connection slots")


@dataclass
class Measurement:
    server: str
    endpoint: str
    requests: int
    concurrency: int
    seconds: float
    latencies_ms: list[float]
    errors: list[str]

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def percentile_ms(self, percent: int) -> float:
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[percent - 1]

    def summary(self) -> str:
        return (
            f"{self.server:<9} GET {self.endpoint:<18} requests={self.requests} concurrency={self.concurrency} "
            f"errors={len(self.errors)} rps={self.rps:.1f} p50={self.percentile_ms(50):.1f}ms "
            f"p95={self.percentile_ms(95):.1f}ms p99={self.percentile_ms(99):.1f}ms"
        )


@dataclass
class ServerRun:
    name: str
    measurements: dict[str, Measurement] = field(default_factory=dict)
    max_db_connections: int = 0
    log_connection_errors: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


# Tasks the measured servers queue (XP awards after each ingestion) go to a queue of this run in Redis database 15,
# so no worker of a running `./dev run` picks them up; the queue is deleted when the run ends. Publishing them is
# part of the measured request cost, as in production.
BENCH_BROKER_URL = urlunsplit(urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))._replace(path="/15"))
BENCH_QUEUE = f"edupath-bench-{os.getpid()}"


def _drop_bench_queue() -> None:
    with contextlib.suppress(redis.RedisError):
        redis.Redis.from_url(BENCH_BROKER_URL).delete(BENCH_QUEUE)


atexit.register(_drop_bench_queue)


def server_environment(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
        "CELERY_BROKER_URL": BENCH_BROKER_URL,
        "CELERY_QUEUE": BENCH_QUEUE,
    }


def manage(*arguments: str, database_url: str) -> None:
    subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter
        [sys.executable, "manage.py", *arguments],
        cwd=PROJECT_DIR,
        env=server_environment(database_url),
        check=True,
    )


def server_command(name: str, port: int, gunicorn_worker_class: str) -> list[str]:
    if name == "daphne":
        return [sys.executable, "-m", "daphne", "-b", HOST, "-p", str(port), "config.asgi:application"]
    if shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is None:
        raise SystemExit("gunicorn is not installed in this environment: .venv/bin/pip install gunicorn")
    command = [sys.executable, "-m", "gunicorn", "--bind", f"{HOST}:{port}", "--workers", "2"]
    command += ["--worker-class", gunicorn_worker_class]
    if gunicorn_worker_class == "gthread":
        command += ["--threads", "4"]
    return [*command, "config.wsgi:application"]


@contextmanager
def running_server(command: list[str], database_url: str, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start `command` in its own process group and always stop the whole group (gunicorn forks workers)."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed arguments, our own interpreter
            command,
            cwd=PROJECT_DIR,
            env=server_environment(database_url),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            stop_process_group(process)


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except ProcessLookupError:
        pass


def request(
    connection: http.client.HTTPConnection, method: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, bytes]:
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


def wait_until_serving(port: int, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        connection = http.client.HTTPConnection(HOST, port, timeout=2)
        try:
            status, _ = request(connection, "GET", "/api/v1/me/", {})
            if status in (200, 401, 403):
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.2)
    raise SystemExit(f"server on port {port} did not answer within {STARTUP_TIMEOUT_SECONDS}s")


def obtain_access_token(port: int) -> str:
    connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_SECONDS)
    try:
        body = json.dumps({"username": DEMO_USERNAME, "password": DEMO_PASSWORD}).encode()
        status, content = request(
            connection, "POST", "/api/v1/auth/token/", {"Content-Type": "application/json"}, body=body
        )
    finally:
        connection.close()
    if status != 200:
        raise SystemExit(f"login as {DEMO_USERNAME} failed ({status}): {content[:300]!r}; did seed_demo run?")
    token: str = json.loads(content)["access"]
    return token


def drive_load(server: str, port: int, endpoint: str, token: str, total_requests: int, concurrency: int) -> Measurement:
    """`concurrency` threads, each with its own keep-alive connection, share `total_requests` requests."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    base_share, remainder = divmod(total_requests, concurrency)
    shares = [base_share + (1 if index < remainder else 0) for index in range(concurrency)]
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors: list[str] = []
    start_together = threading.Barrier(concurrency + 1)
    stop = threading.Event()

    def client(index: int) -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_SECONDS)
        start_together.wait()
        for _ in range(shares[index]):
            if stop.is_set():
                break
            began = time.perf_counter()
            try:
                status, _ = request(connection, "GET", endpoint, headers)
            except (OSError, http.client.HTTPException) as exc:
                errors.append(f"{exc.__class__.__name__}: {exc}")
                connection.close()  # the next request reconnects
                continue
            if status != 200:
                errors.append(f"HTTP {status}")
                continue
            latencies[index].append((time.perf_counter() - began) * 1000)
        connection.close()

    # Daemon threads joined with a timeout: a signal is only handled by the main thread, and only between bytecodes,
    # so a bare join() would let SIGTERM or Ctrl-C wait for the whole run (and the servers with it).
    threads = [threading.Thread(target=client, args=(index,), daemon=True) for index in range(concurrency)]
    for thread in threads:
        thread.start()
    start_together.wait()
    began = time.perf_counter()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.2)
    finally:
        stop.set()
    seconds = time.perf_counter() - began
    all_latencies = [latency for per_client in latencies for latency in per_client]
    if len(all_latencies) < 2:
        raise SystemExit(f"{server}: almost every request failed: {errors[:5]}")
    return Measurement(server, endpoint, total_requests, concurrency, seconds, all_latencies, errors)


class ConnectionSampler:
    """Counts the sessions other than its own on the target database, in a background thread."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.maximum = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "ConnectionSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with psycopg.connect(self.database_url, autocommit=True) as connection:
            while not self._stop.is_set():
                row = connection.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                ).fetchone()
                self.maximum = max(self.maximum, row[0] if row else 0)
                self._stop.wait(SAMPLE_INTERVAL_SECONDS)


def measure_server(name: str, arguments: argparse.Namespace, database_url: str, log_dir: Path) -> ServerRun:
    run = ServerRun(name)
    port = free_port()
    log_path = log_dir / f"{name}.log"
    command = server_command(name, port, arguments.gunicorn_worker_class)
    print(f"# {name}: {' '.join(command[1:])} (log: {log_path})", flush=True)
    with running_server(command, database_url, log_path) as process:
        wait_until_serving(port, process, log_path)
        token = obtain_access_token(port)
        with ConnectionSampler(database_url) as sampler:
            for endpoint in ENDPOINTS:
                drive_load(name, port, endpoint, token, arguments.warmup, arguments.clients)
                measurement = drive_load(name, port, endpoint, token, arguments.requests, arguments.clients)
                run.measurements[endpoint] = measurement
                print(measurement.summary(), flush=True)
                if measurement.errors:
                    print(f"#   first errors: {measurement.errors[:5]}", flush=True)
        run.max_db_connections = sampler.maximum
    run.log_connection_errors = [line for line in log_path.read_text().splitlines() if CONNECTION_ERROR.search(line)]
    print(
        f"# {name}: max database sessions seen={run.max_db_connections}, "
        f"connection errors in log={len(run.log_connection_errors)}",
        flush=True,
    )
    for line in run.log_connection_errors[:5]:
        print(f"#   {line}", flush=True)
    return run


def stop_on_signal(signum: int, frame: FrameType | None) -> None:
    # Turn SIGTERM into an exception so that every `finally` runs and the servers are stopped.
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16, help="concurrent keep-alive clients (default 16)")
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per endpoint (default 2000)")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured requests first (default 200)")
    parser.add_argument("--gunicorn-worker-class", choices=["sync", "gthread"], default="sync")
    parser.add_argument("--skip-setup", action="store_true", help="do not run migrate and seed_demo")
    arguments = parser.parse_args()
    signal.signal(signal.SIGTERM, stop_on_signal)

    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    print(f"# machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; database {database_url}", flush=True)
    if not arguments.skip_setup:
        manage("migrate", "--noinput", "-v", "0", database_url=database_url)
        manage("seed_demo", "--quiet", database_url=database_url)

    # Server logs are kept for inspection (the path is printed).
    log_dir = Path(tempfile.mkdtemp(prefix="edupath-bench-"))
    runs = {name: measure_server(name, arguments, database_url, log_dir) for name in ("daphne", "gunicorn")}

    daphne = runs["daphne"].measurements[PRIMARY_ENDPOINT]
    gunicorn = runs["gunicorn"].measurements[PRIMARY_ENDPOINT]
    print(
        f"RESULT daphne_rps={daphne.rps:.1f} gunicorn_rps={gunicorn.rps:.1f} "
        f"daphne_p95_ms={daphne.percentile_ms(95):.1f} gunicorn_p95_ms={gunicorn.percentile_ms(95):.1f} "
        f"ratio={gunicorn.rps / daphne.rps:.2f}",
        flush=True,
    )


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        # The servers were stopped on the way out (running_server's finally).
        sys.exit("interrupted; every server this run started has been stopped")
