"""`./dev run` end to end: start it as a developer would, log in as each demo user, press Ctrl-C, and check that
nothing is left running.

It uses private PostgreSQL and Redis (EDUPATH_PRIVATE_SERVICES=1) in a temporary run directory, on free ports,
so it neither needs nor touches the database of the suite around it (no pytest-django fixtures here).
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.processes import free_port

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 180.0
SHUTDOWN_TIMEOUT = 60.0
DEMO_USERS = ("admin", "teacher1", "student1")
URL_LINE = re.compile(r"(http://127\.0\.0\.1:(\d+)/)")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux (/proc, process sessions)"),
]


# ---------------------------------------------------------------------------------------------------------------
# Processes and ports


def port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat from field 3 (state) on; the command name may hold spaces and parentheses."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def all_pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def session_members(sid: int) -> list[int]:
    """Processes whose session id (field 6 of /proc/PID/stat) is sid."""
    members = []
    for pid in all_pids():
        fields = proc_stat(pid)
        if fields is not None and int(fields[3]) == sid:
            members.append(pid)
    return members


def descendants(root: int) -> dict[int, str]:
    """pid -> start time (field 22) of every process below root; honcho puts its children in new sessions."""
    children: dict[int, list[int]] = {}
    start: dict[int, str] = {}
    for pid in all_pids():
        fields = proc_stat(pid)
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(pid)
            start[pid] = fields[19]
    found: dict[int, str] = {}
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child in start and child not in found:
                found[child] = start[child]
                stack.append(child)
    return found


def still_alive(processes: dict[int, str]) -> list[str]:
    """Those of `processes` (pid -> start time) still running, described by pid and command line."""
    alive = []
    for pid, started in processes.items():
        fields = proc_stat(pid)
        if fields is not None and fields[19] == started and fields[0] != "Z":
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
            except OSError:
                command = "?"
            alive.append(f"{pid} {command}")
    return alive


class OutputReader:
    """Collects the combined output of ./dev in a thread, so the pipe never fills up."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._process = process
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.lines.append(line.rstrip("\n"))

    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                match = pattern.search(line)
                if match:
                    return match
            if self._process.poll() is not None:
                self._thread.join(5)
                pytest.fail(f"./dev run exited ({self._process.returncode}) before printing its URL:\n{self.tail()}")
            time.sleep(0.2)
        pytest.fail(f"./dev run printed no URL within {timeout:.0f} s:\n{self.tail()}")

    def tail(self, count: int = 60) -> str:
        return "\n".join(self.lines[-count:])


# ---------------------------------------------------------------------------------------------------------------
# HTTP: a browser-like client with a cookie jar that shows redirects instead of following them


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class LoginFormParser(HTMLParser):
    """Finds the form holding a password field, and its hidden inputs (the CSRF token)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, object]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append({"action": attributes.get("action", ""), "method": attributes.get("method", "get"),
                               "inputs": {}, "types": set()})  # fmt: skip
        elif tag == "input" and self.forms:
            form = self.forms[-1]
            inputs = form["inputs"]
            types = form["types"]
            assert isinstance(inputs, dict) and isinstance(types, set)
            if attributes.get("name"):
                inputs[attributes["name"]] = attributes.get("value", "")
            types.add(attributes.get("type", "text").lower())

    def login_form(self) -> dict[str, object]:
        for form in self.forms:
            types = form["types"]
            assert isinstance(types, set)
            if "password" in types:
                return form
        raise AssertionError("no form with a password field on the login page")


class Client:
    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())

    def request(self, path: str, data: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(urllib.parse.urljoin(self.base, path), data=body)  # noqa: S310 - http://127.0.0.1
        if body is not None:
            request.add_header("Referer", urllib.parse.urljoin(self.base, path))
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            with error:
                return error.code, dict(error.headers), error.read().decode("utf-8", "replace")


def wait_for_http(base: str, path: str, deadline: float, reader: OutputReader) -> None:
    client = Client(base)
    while True:
        try:
            status, _, _ = client.request(path)
            if status < 500:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{base}{path} did not answer before the deadline:\n{reader.tail()}")
        time.sleep(0.5)


def log_in(base: str, username: str, password: str) -> None:
    client = Client(base)
    status, headers, page = client.request("/accounts/login/")
    assert status == 200, f"GET /accounts/login/ -> {status}"
    assert "text/html" in headers.get("Content-Type", "")
    parser = LoginFormParser()
    parser.feed(page)
    form = parser.login_form()
    inputs = form["inputs"]
    assert isinstance(inputs, dict)
    assert str(form["method"]).lower() == "post"
    assert inputs.get("csrfmiddlewaretoken"), "login form has no CSRF token"
    fields = {str(name): str(value) for name, value in inputs.items()}
    fields.update(username=username, password=password)
    action = str(form["action"]) or "/accounts/login/"

    status, headers, page = client.request(action, fields)
    assert status == 302, f"login as {username} answered {status} (expected a redirect):\n{page[:2000]}"
    location = urllib.parse.urlsplit(headers.get("Location", "")).path
    assert location and not location.startswith("/accounts/login"), f"login as {username} redirected to {location}"

    status, _, page = client.request("/")
    assert status == 200, f"GET / as {username} -> {status}"
    assert username in page, f"{username!r} does not appear on / after logging in"


# ---------------------------------------------------------------------------------------------------------------
# The test


@contextlib.contextmanager
def run_dir() -> Iterator[Path]:
    """A temporary run directory that the `postgres` OS user can reach (pytest's tmp_path is 0700 for root)."""
    path = Path(tempfile.mkdtemp(prefix="edupath-e2e-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def child_environment(directory: Path, web_port: int) -> dict[str, str]:
    env = dict(os.environ)
    # Whatever the suite around us uses (its database, settings, pytest's own variables) is not for ./dev run.
    for name in list(env):
        if name in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "EDUPATH_RUN_TOKEN"} or name.startswith(
            ("PYTEST_", "EDUPATH_")
        ):
            del env[name]
    env.update(EDUPATH_PRIVATE_SERVICES="1", EDUPATH_RUN_DIR=str(directory), PORT=str(web_port), PYTHONUNBUFFERED="1")
    return env


def services_started(directory: Path, dev_pid: int) -> dict[str, str]:
    """What ./dev run recorded about its services, from the env file it keeps while it runs."""
    values: dict[str, str] = {}
    env_file = directory / f"services.{dev_pid}.env"
    for line in env_file.read_text().splitlines():
        key, _, value = line.partition("=")
        values[key] = value.strip("'")
    assert values.get("EDUPATH_STARTED", "").split() == ["postgres", "redis"], values
    return values


def test_dev_run_serves_demo_logins_and_cleans_up_on_ctrl_c() -> None:
    password = os.environ.get("DEMO_PASSWORD", "edupath-demo")
    outside: list[Path] = []
    with run_dir() as directory:
        env = child_environment(directory, free_port())
        process = subprocess.Popen(
            ["./dev", "run"],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        reader = OutputReader(process)
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            base = reader.wait_for(URL_LINE, STARTUP_TIMEOUT).group(1)
            wait_for_http(base, "/accounts/login/", deadline, reader)
            for username in DEMO_USERS:
                log_in(base, username, password)

            services = services_started(directory, process.pid)
            ports = [int(services["EDUPATH_PG_PORT"]), int(urllib.parse.urlsplit(services["REDIS_URL"]).port or 0)]
            assert all(port_answers(port) for port in ports)
            pg_data = Path(services["EDUPATH_PG_DATA"])
            if directory not in pg_data.parents:
                outside.append(pg_data.parent.parent)  # /var/tmp/edupath-<hash>: the postgres user's fallback
            ours = descendants(process.pid)
            assert ours, "./dev run has no child processes"

            # Ctrl-C: SIGINT to the whole foreground process group, as a terminal does.
            os.killpg(process.pid, signal.SIGINT)
            returncode = process.wait(SHUTDOWN_TIMEOUT)
            assert returncode in (0, 130), f"./dev run exited {returncode} after Ctrl-C:\n{reader.tail()}"

            assert wait_until_gone(lambda: session_members(process.pid)), (
                f"processes left in the session of ./dev run: {session_members(process.pid)}"
            )
            assert wait_until_gone(lambda: still_alive(ours)), f"processes of ./dev run left: {still_alive(ours)}"
            for port in ports:
                assert not port_answers(port), f"private service on port {port} still answers after Ctrl-C"
            assert "Stopping private PostgreSQL" in reader.text()
            assert "Stopping private Redis" in reader.text()
        finally:
            stop_everything(process, directory)
            for path in outside:
                shutil.rmtree(path, ignore_errors=True)


def wait_until_gone(leftovers: Callable[[], list[int] | list[str]], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while leftovers():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def stop_everything(process: subprocess.Popen[str], directory: Path) -> None:
    """After a failure: end ./dev and its services whatever state they are in (a no-op after a clean run)."""
    if process.poll() is None:
        for sig, wait in ((signal.SIGINT, SHUTDOWN_TIMEOUT), (signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(wait)
                break
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    python = REPO / ".venv" / "bin" / "python"
    if python.exists():
        subprocess.run(
            [str(python), "scripts/services.py", "stop-all", "--run-dir", str(directory)],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=120,
            check=False,
        )
