"""PostgreSQL and Redis for ./dev: use the ones already there, or start private ones under a run directory.

Run with the project's virtualenv Python (it needs psycopg); everything else is the standard library.

    services.py ensure --run-dir DIR --env-file FILE [--dotenv .env]
        Find or start PostgreSQL and Redis. Writes DATABASE_URL, REDIS_URL and what this call started to FILE
        (shell syntax, for `set -a; . FILE`). The file is rewritten after each step, so `stop` works even when
        `ensure` failed half-way.
    services.py stop --run-dir DIR --env-file FILE
        Stop only what the `ensure` that wrote FILE started.
    services.py stop-all --run-dir DIR
        Stop every private instance kept under DIR, whoever started it.
    services.py free-port START
        Print the first TCP port from START that is free on 127.0.0.1.
    services.py wait-http URL [--timeout S]
        Wait until URL answers HTTP, then print a "Ready" line.
    services.py reap TOKEN
        Stop processes whose environment carries EDUPATH_RUN_TOKEN=TOKEN (a safety net after honcho).

Choice of PostgreSQL: DATABASE_URL if set (it must answer); else a server on 127.0.0.1:5432 that lets $PGUSER,
postgres or the current OS user in without a password (database "edupath", created if missing); else a private
cluster in DIR/postgres. Redis: REDIS_URL if set; else 127.0.0.1:6379 if it answers PING; else a private
redis-server in DIR/redis. EDUPATH_PRIVATE_SERVICES=1 skips the default ports (and .env) and goes private.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import getpass
import hashlib
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

PG_DEFAULT_PORT = 5432
PG_PRIVATE_FIRST_PORT = 54329
REDIS_DEFAULT_PORT = 6379
REDIS_PRIVATE_FIRST_PORT = 63790
DATABASE_NAME = "edupath"
PG_SUPERUSER = "postgres"
HOST = "127.0.0.1"
# Longest path the kernel accepts for a Unix socket (sun_path is 108 bytes with the terminating NUL).
MAX_SOCKET_PATH = 107


class ServiceError(Exception):
    """A problem the user has to fix; printed without a traceback."""


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def warn(message: str) -> None:
    print(f"==> warning: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# State written for ./dev (and read back by `stop`)


@dataclass
class State:
    env_file: Path
    values: dict[str, str] = field(default_factory=dict)
    started: list[str] = field(default_factory=list)

    def save(self) -> None:
        lines = ["# Written by scripts/services.py; sourced by ./dev. Removed when ./dev exits."]
        values = dict(self.values)
        values["EDUPATH_STARTED"] = " ".join(self.started)
        lines += [f"{key}={shlex.quote(value)}" for key, value in values.items()]
        tmp = self.env_file.with_name(self.env_file.name + ".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        tmp.replace(self.env_file)

    @classmethod
    def load(cls, env_file: Path) -> State:
        values = read_env_file(env_file)
        started = values.pop("EDUPATH_STARTED", "").split()
        return cls(env_file=env_file, values=values, started=started)


def read_env_file(path: Path) -> dict[str, str]:
    """Parse simple KEY=VALUE lines (optionally `export`, shell quoting); anything else is skipped."""
    values: dict[str, str] = {}
    try:
        text = path.read_text()
    except OSError:
        return values
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, rest = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            continue
        try:
            words = shlex.split(rest, comments=True)
        except ValueError:
            continue
        values[key] = " ".join(words)
    return values


@contextlib.contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    """Serialise ensure/stop calls that share a run directory (two ./dev at once)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / ".services.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# ---------------------------------------------------------------------------------------------------------------
# Small helpers


def tcp_answers(port: int, host: str = HOST, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_is_free(port: int) -> bool:
    if tcp_answers(port, timeout=0.3):
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Servers set SO_REUSEADDR, so a port with only TIME_WAIT connections left is free for them too.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port(start: int, tries: int = 200) -> int:
    for port in range(start, min(start + tries, 65536)):
        if port_is_free(port):
            return port
    raise ServiceError(f"no free TCP port on {HOST} in {start}..{start + tries - 1}")


def pid_alive(pid: int) -> bool:
    """True while `pid` runs; a zombie (exited, not yet reaped by its parent) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc here: trust kill(0)
    return stat[stat.rindex(")") + 2 :][:1] != "Z"


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def child_env() -> dict[str, str]:
    """Environment for daemons we start: without the run token, so `reap` never mistakes them for ours."""
    env = dict(os.environ)
    env.pop("EDUPATH_RUN_TOKEN", None)
    return env


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def run(cmd: Sequence[str], *, cwd: Path | None = None, what: str, log: Path | None = None) -> None:
    """Run a helper command; on failure raise with its output (or the log's tail)."""
    result = subprocess.run(
        list(cmd), cwd=cwd, env=child_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        if log is not None:
            output = f"{output}\n--- {log} ---\n{tail(log)}".strip()
        raise ServiceError(f"{what} failed (exit {result.returncode}):\n{output}")


# ---------------------------------------------------------------------------------------------------------------
# PostgreSQL


def safe_url(url: str) -> str:
    """host:port/db of a database or Redis URL, without credentials, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{host}{port}{parts.path}"


def pg_conninfo_from_url(url: str) -> str:
    """A libpq URI from a django-environ style URL (postgres://, pgsql://, psql://, postgis://...)."""
    parts = urlsplit(url)
    return parts._replace(scheme="postgresql", query="", fragment="").geturl()


def pg_try_connect(conninfo: str) -> str | None:
    """Connect once; None when it worked, else the reason."""
    import psycopg

    try:
        with psycopg.connect(conninfo, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def pg_ensure_database(port: int, user: str) -> str | None:
    """Make sure DATABASE_NAME exists on 127.0.0.1:port for `user`; None when fine, else the reason."""
    import psycopg
    from psycopg import sql

    last_error = "no maintenance database"
    for maintenance_db in ("postgres", "template1"):
        try:
            with psycopg.connect(
                host=HOST, port=port, user=user, dbname=maintenance_db, connect_timeout=3, autocommit=True
            ) as conn:
                exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)).fetchone()
                if not exists:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE_NAME)))
                    say(f"Created database {DATABASE_NAME!r} on {HOST}:{port}")
        except psycopg.Error as exc:
            last_error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            continue
        return pg_try_connect(psycopg.conninfo.make_conninfo(host=HOST, port=port, user=user, dbname=DATABASE_NAME))
    return last_error


def pg_url(user: str, port: int) -> str:
    return f"postgres://{quote(user, safe='')}@{HOST}:{port}/{DATABASE_NAME}"


def pg_candidate_users() -> list[str]:
    users: list[str] = []
    for user in (os.environ.get("PGUSER"), PG_SUPERUSER, getpass.getuser()):
        if user and user not in users:
            users.append(user)
    return users


def pg_bin_dir(version: str | None = None) -> Path:
    """Directory with initdb and pg_ctl: /usr/lib/postgresql/<highest>/bin (or `version`'s), else PATH."""

    def version_key(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))

    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version_key, reverse=True)
    if version:
        candidates.sort(key=lambda path: path.parent.name != version)
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl and shutil.which("initdb"):
        return Path(pg_ctl).resolve().parent
    raise ServiceError(
        "PostgreSQL server programs (initdb, pg_ctl) not found. Install them (Debian: apt-get install postgresql)"
        " or set DATABASE_URL."
    )


def as_root() -> bool:
    return os.geteuid() == 0


def pg_os_user() -> pwd.struct_passwd | None:
    """The OS user to run initdb/postgres as: `postgres` when we are root (PostgreSQL refuses root), else us."""
    if not as_root():
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise ServiceError(
            "running as root, and PostgreSQL refuses to run as root, but there is no 'postgres' OS user to run it"
            " as. Install the postgresql package, run ./dev as a normal user, or set DATABASE_URL."
        ) from None


def pg_prefix(user: pwd.struct_passwd | None) -> list[str]:
    if user is None:
        return []
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    return [runuser, "-u", user.pw_name, "--"]


def fallback_dir(run_dir: Path) -> Path:
    # A fixed name per run dir, so that later runs find the same cluster; the cluster dir inside it is 0700.
    return Path("/var/tmp") / f"edupath-{short_hash(str(run_dir.resolve()))}"  # noqa: S108


def pg_homes(run_dir: Path) -> list[Path]:
    return [run_dir / "postgres", fallback_dir(run_dir) / "postgres"]


def user_can_use(user: pwd.struct_passwd, directory: Path) -> bool:
    result = subprocess.run(
        [*pg_prefix(user), "test", "-w", str(directory), "-a", "-x", str(directory)],
        cwd="/",
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def prepare_dir(path: Path, user: pwd.struct_passwd | None) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if user is not None:
        os.chown(path, user.pw_uid, user.pw_gid)
    path.chmod(0o700)


def pg_choose_home(run_dir: Path, user: pwd.struct_passwd | None) -> Path:
    """DIR/postgres, or /var/tmp/edupath-<hash>/postgres when the postgres OS user cannot reach DIR."""
    home, fallback = pg_homes(run_dir)
    if user is None:
        home.mkdir(parents=True, exist_ok=True)
        return home
    if (fallback / "data").is_dir() and not (home / "data").is_dir():
        return fallback
    home_existed = home.exists()
    prepare_dir(home, user)
    if user_can_use(user, home):
        return home
    if not home_existed:
        with contextlib.suppress(OSError):
            home.rmdir()
    say(f"The {user.pw_name!r} OS user cannot reach {run_dir}; keeping the private PostgreSQL in {fallback}")
    fallback.parent.mkdir(parents=True, exist_ok=True)
    fallback.parent.chmod(0o755)
    prepare_dir(fallback, user)
    if not user_can_use(user, fallback):
        raise ServiceError(f"the {user.pw_name!r} OS user cannot write to {fallback} either")
    return fallback


def pg_running(data: Path) -> tuple[int, int] | None:
    """(pid, port) of a live postmaster for `data`, from its postmaster.pid."""
    try:
        lines = (data / "postmaster.pid").read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
    except (OSError, ValueError, IndexError):
        return None
    if pid_alive(pid) and process_name(pid) in {"postgres", "postmaster"} and tcp_answers(port):
        return pid, port
    return None


def pg_private(run_dir: Path, state: State) -> str:
    user = pg_os_user()
    home = pg_choose_home(run_dir, user)
    data = home / "data"
    running = pg_running(data)
    version_file = data / "PG_VERSION"
    version = version_file.read_text().strip() if version_file.is_file() else None
    bin_dir = pg_bin_dir(version)
    pg_ctl = bin_dir / "pg_ctl"
    state.values.update(
        EDUPATH_PG_DATA=str(data),
        EDUPATH_PG_CTL=str(pg_ctl),
        EDUPATH_PG_RUNAS=user.pw_name if user else "",
    )
    if running:
        _, port = running
        state.values["EDUPATH_PG_PORT"] = str(port)
        say(f"Using private PostgreSQL at {HOST}:{port} (already running, data in {data})")
    else:
        if version is None:
            if data.exists() and any(data.iterdir()):
                say(f"Removing the unfinished cluster in {data}")
                shutil.rmtree(data)
            say(f"Creating a private PostgreSQL cluster in {data}")
            run(
                [*pg_prefix(user), str(bin_dir / "initdb"), "-D", str(data), "-U", PG_SUPERUSER, "-A", "trust",
                 "-E", "UTF8", "--locale=C", "--no-sync"],
                cwd=home,
                what="initdb",
            )  # fmt: skip
        elif version != bin_dir.parent.name and bin_dir.parent.parent == Path("/usr/lib/postgresql"):
            raise ServiceError(
                f"{data} holds a PostgreSQL {version} cluster but only {bin_dir.parent.name} is installed;"
                f" remove {home} to start afresh"
            )
        socket_dir = home / "socket"
        prepare_dir(socket_dir, user)
        port = free_port(PG_PRIVATE_FIRST_PORT)
        sockets = str(socket_dir)
        if len(f"{sockets}/.s.PGSQL.{port}") > MAX_SOCKET_PATH:
            sockets = ""  # path too long for a Unix socket: TCP only
        log = home / "postgres.log"
        options = " ".join(
            [
                f"-p {port}",
                f"-c listen_addresses={HOST}",
                f"-c unix_socket_directories={shlex.quote(sockets)}",
                "-c synchronous_commit=off",
            ]
        )
        state.started.append("postgres")
        state.values["EDUPATH_PG_PORT"] = str(port)
        state.save()
        say(f"Starting private PostgreSQL on {HOST}:{port} (data in {data})")
        run(
            [*pg_prefix(user), str(pg_ctl), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start"],
            cwd=home,
            what="pg_ctl start",
            log=log,
        )
    port = int(state.values["EDUPATH_PG_PORT"])
    problem = pg_ensure_database(port, PG_SUPERUSER)
    if problem:
        raise ServiceError(f"private PostgreSQL on {HOST}:{port} does not accept connections: {problem}")
    return pg_url(PG_SUPERUSER, port)


def ensure_postgres(run_dir: Path, state: State, private: bool, dotenv: dict[str, str]) -> None:
    url = os.environ.get("DATABASE_URL") or ("" if private else dotenv.get("DATABASE_URL", ""))
    if url:
        problem = pg_try_connect(pg_conninfo_from_url(url))
        if problem:
            raise ServiceError(f"DATABASE_URL is set, but PostgreSQL at {safe_url(url)} cannot be used: {problem}")
        say(f"Using PostgreSQL at {safe_url(url)} (from DATABASE_URL)")
        state.values["DATABASE_URL"] = url
        return
    if private:
        say("EDUPATH_PRIVATE_SERVICES=1: using private PostgreSQL and Redis")
    elif not tcp_answers(PG_DEFAULT_PORT):
        say(f"No PostgreSQL on {HOST}:{PG_DEFAULT_PORT}; using a private one")
    else:
        reasons = []
        for user in pg_candidate_users():
            problem = pg_ensure_database(PG_DEFAULT_PORT, user)
            if problem is None:
                say(f"Using PostgreSQL at {HOST}:{PG_DEFAULT_PORT} as {user!r} (already running)")
                state.values["DATABASE_URL"] = pg_url(user, PG_DEFAULT_PORT)
                return
            reasons.append(f"{user}: {problem}")
        say(f"PostgreSQL on {HOST}:{PG_DEFAULT_PORT} does not let us in without a password; using a private one")
        for reason in reasons:
            say(f"    {reason}")
    state.values["DATABASE_URL"] = pg_private(run_dir, state)


def stop_postgres(data: Path, pg_ctl: str, run_as: str) -> None:
    running = pg_running(data)
    if not running:
        return
    pid, port = running
    say(f"Stopping private PostgreSQL on {HOST}:{port}")
    user = pwd.getpwnam(run_as) if run_as and as_root() else None
    result = subprocess.run(
        [*pg_prefix(user), pg_ctl, "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop"],
        cwd="/",
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not wait_until(lambda: not pid_alive(pid), 10):
        warn(f"pg_ctl stop failed ({(result.stdout + result.stderr).strip()}); sending SIGQUIT to {pid}")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGQUIT)
        wait_until(lambda: not pid_alive(pid), 10)


# ---------------------------------------------------------------------------------------------------------------
# Redis


def redis_command(url: str, *args: str, timeout: float = 2.0) -> bytes:
    """Send one command (after AUTH/SELECT-free connect) and return the first reply line."""
    parts = urlsplit(url)
    if parts.scheme not in {"redis", ""}:
        raise OSError(f"cannot check {parts.scheme}:// URLs")
    with socket.create_connection((parts.hostname or HOST, parts.port or REDIS_DEFAULT_PORT), timeout=timeout) as s:
        stream = s.makefile("rwb")

        def send(*words: str) -> bytes:
            payload = f"*{len(words)}\r\n".encode()
            for word in words:
                encoded = word.encode()
                payload += b"$%d\r\n%s\r\n" % (len(encoded), encoded)
            stream.write(payload)
            stream.flush()
            return stream.readline().strip()

        if parts.password:
            username = unquote(parts.username) if parts.username else None
            reply = send("AUTH", *([username] if username else []), unquote(parts.password))
            if not reply.startswith(b"+"):
                return reply
        return send(*args)


def redis_ping(url: str) -> str | None:
    """None when the Redis at `url` answers PING, else the reason."""
    try:
        reply = redis_command(url, "PING")
    except OSError as exc:
        return str(exc) or type(exc).__name__
    return None if reply == b"+PONG" else reply.decode(errors="replace") or "no reply"


def redis_running(directory: Path) -> tuple[int, int] | None:
    try:
        pid = int((directory / "redis.pid").read_text().strip())
        port = int((directory / "redis.port").read_text().strip())
    except (OSError, ValueError):
        return None
    if pid_alive(pid) and process_name(pid).startswith("redis-server") and not redis_ping(f"redis://{HOST}:{port}"):
        return pid, port
    return None


def redis_private(run_dir: Path, state: State) -> str:
    directory = run_dir / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    state.values["EDUPATH_REDIS_DIR"] = str(directory)
    running = redis_running(directory)
    if running:
        _, port = running
        say(f"Using private Redis at {HOST}:{port} (already running)")
        return f"redis://{HOST}:{port}"
    server = shutil.which("redis-server") or shutil.which("redis-server", path="/usr/bin:/usr/sbin")
    if not server:
        raise ServiceError("redis-server not found. Install it (Debian: apt-get install redis-server) or set REDIS_URL")
    port = free_port(REDIS_PRIVATE_FIRST_PORT)
    pidfile, log = directory / "redis.pid", directory / "redis.log"
    with contextlib.suppress(FileNotFoundError):
        pidfile.unlink()
    (directory / "redis.port").write_text(f"{port}\n")
    state.started.append("redis")
    state.save()
    say(f"Starting private Redis on {HOST}:{port}")
    run(
        [server, "--port", str(port), "--bind", HOST, "--dir", str(directory), "--save", "", "--appendonly", "no",
         "--daemonize", "yes", "--pidfile", str(pidfile), "--logfile", str(log)],
        cwd=directory,
        what="redis-server",
        log=log,
    )  # fmt: skip
    url = f"redis://{HOST}:{port}"
    if not wait_until(lambda: redis_ping(url) is None, 15):
        raise ServiceError(f"private Redis on {HOST}:{port} did not answer PING:\n{tail(log)}")
    wait_until(pidfile.is_file, 5)
    return url


def ensure_redis(run_dir: Path, state: State, private: bool, dotenv: dict[str, str]) -> None:
    url = os.environ.get("REDIS_URL") or ("" if private else dotenv.get("REDIS_URL", ""))
    if url:
        problem = redis_ping(url)
        if problem:
            raise ServiceError(f"REDIS_URL is set, but Redis at {safe_url(url)} does not answer PING: {problem}")
        say(f"Using Redis at {safe_url(url)} (from REDIS_URL)")
        state.values["REDIS_URL"] = url
        return
    default = f"redis://{HOST}:{REDIS_DEFAULT_PORT}"
    if not private:
        problem = redis_ping(default)
        if problem is None:
            say(f"Using Redis at {HOST}:{REDIS_DEFAULT_PORT} (already running)")
            state.values["REDIS_URL"] = default
            return
        if tcp_answers(REDIS_DEFAULT_PORT):
            say(f"Redis on {HOST}:{REDIS_DEFAULT_PORT} answers but not to PING ({problem}); using a private one")
        else:
            say(f"No Redis on {HOST}:{REDIS_DEFAULT_PORT}; using a private one")
    state.values["REDIS_URL"] = redis_private(run_dir, state)


def stop_redis(directory: Path) -> None:
    running = redis_running(directory)
    if not running:
        return
    pid, port = running
    say(f"Stopping private Redis on {HOST}:{port}")
    with contextlib.suppress(OSError):
        redis_command(f"redis://{HOST}:{port}", "SHUTDOWN", "NOSAVE")
    if not wait_until(lambda: not pid_alive(pid), 10):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not pid_alive(pid), 5)


# ---------------------------------------------------------------------------------------------------------------
# Commands


def cmd_ensure(args: argparse.Namespace) -> None:
    run_dir: Path = args.run_dir.resolve()
    private = os.environ.get("EDUPATH_PRIVATE_SERVICES", "") not in {"", "0", "false", "no"}
    dotenv = read_env_file(args.dotenv) if args.dotenv else {}
    state = State(env_file=args.env_file)
    with locked(run_dir):
        try:
            ensure_postgres(run_dir, state, private, dotenv)
            state.save()
            ensure_redis(run_dir, state, private, dotenv)
        finally:
            state.save()


def cmd_stop(args: argparse.Namespace) -> None:
    state = State.load(args.env_file)
    with locked(args.run_dir.resolve()):
        if "postgres" in state.started and state.values.get("EDUPATH_PG_DATA"):
            stop_postgres(
                Path(state.values["EDUPATH_PG_DATA"]),
                state.values.get("EDUPATH_PG_CTL") or str(pg_bin_dir() / "pg_ctl"),
                state.values.get("EDUPATH_PG_RUNAS", ""),
            )
        if "redis" in state.started and state.values.get("EDUPATH_REDIS_DIR"):
            stop_redis(Path(state.values["EDUPATH_REDIS_DIR"]))


def cmd_stop_all(args: argparse.Namespace) -> None:
    run_dir: Path = args.run_dir.resolve()
    with locked(run_dir):
        for home in pg_homes(run_dir):
            data = home / "data"
            if pg_running(data):
                version = (data / "PG_VERSION").read_text().strip()
                user = pg_os_user()
                stop_postgres(data, str(pg_bin_dir(version) / "pg_ctl"), user.pw_name if user else "")
        stop_redis(run_dir / "redis")
        # Env files of ./dev runs that were killed without a chance to clean up.
        for env_file in run_dir.glob("services.*.env"):
            pid = env_file.name.split(".")[1]
            if not pid.isdigit() or not pid_alive(int(pid)):
                env_file.unlink(missing_ok=True)


def cmd_free_port(args: argparse.Namespace) -> None:
    print(free_port(args.start))


def cmd_wait_http(args: argparse.Namespace) -> None:
    def answers() -> bool:
        try:
            with urllib.request.urlopen(args.url, timeout=2):  # noqa: S310 - ./dev passes an http:// URL
                return True
        except urllib.error.HTTPError:
            return True  # any HTTP answer means the server is up
        except OSError:
            return False

    if wait_until(answers, args.timeout, interval=0.5):
        say(f"Ready: {args.url}")
    else:
        warn(f"{args.url} did not answer within {args.timeout:.0f} s; see the web process output above")


def our_processes(token: str) -> list[int]:
    needle = f"EDUPATH_RUN_TOKEN={token}".encode()
    skip = {os.getpid(), os.getppid()}
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in skip:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def cmd_reap(args: argparse.Namespace) -> None:
    """Last resort after honcho: end anything of this run that survived (normally nothing)."""
    pids = our_processes(args.token)
    if not pids:
        return
    say(f"Stopping {len(pids)} leftover process(es): {' '.join(map(str, pids))}")
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        if wait_until(lambda: not any(pid_alive(pid) for pid in pids), 5):
            return


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    ensure = commands.add_parser("ensure", help="find or start PostgreSQL and Redis")
    ensure.add_argument("--run-dir", type=Path, required=True)
    ensure.add_argument("--env-file", type=Path, required=True)
    ensure.add_argument("--dotenv", type=Path, help="a .env file whose DATABASE_URL/REDIS_URL count as set")
    ensure.set_defaults(handler=cmd_ensure)

    stop = commands.add_parser("stop", help="stop what `ensure` with this env file started")
    stop.add_argument("--run-dir", type=Path, required=True)
    stop.add_argument("--env-file", type=Path, required=True)
    stop.set_defaults(handler=cmd_stop)

    stop_all = commands.add_parser("stop-all", help="stop every private instance under the run dir")
    stop_all.add_argument("--run-dir", type=Path, required=True)
    stop_all.set_defaults(handler=cmd_stop_all)

    port = commands.add_parser("free-port", help="print the first free port from START")
    port.add_argument("start", type=int)
    port.set_defaults(handler=cmd_free_port)

    wait_http = commands.add_parser("wait-http", help="wait until a URL answers HTTP")
    wait_http.add_argument("url")
    wait_http.add_argument("--timeout", type=float, default=300)
    wait_http.set_defaults(handler=cmd_wait_http)

    reap = commands.add_parser("reap", help="end leftover processes carrying EDUPATH_RUN_TOKEN=TOKEN")
    reap.add_argument("token")
    reap.set_defaults(handler=cmd_reap)

    args = parser.parse_args(argv)
    try:
        args.handler(args)
    except ServiceError as exc:
        print(f"==> error: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
