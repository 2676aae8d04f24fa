"""scripts/serve_live.py: several daphne processes on one port, stopped together."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.processes import free_port, wait_until_answering

PROJECT_DIR = Path(__file__).resolve().parents[2]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


@contextmanager
def serve_live(processes: int) -> Iterator[tuple[subprocess.Popen[str], list[int], str]]:
    port = free_port()
    launcher = subprocess.Popen(
        [sys.executable, "scripts/serve_live.py", "-b", "127.0.0.1", "-p", str(port), "-n", str(processes)],
        cwd=PROJECT_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert launcher.stdout is not None
        line = launcher.stdout.readline()
        assert line.startswith("serve_live:"), line
        pids = [int(pid) for pid in line.rsplit("(pids ", 1)[1].rstrip(")\n").split()]
        url = f"http://127.0.0.1:{port}"
        wait_until_answering(f"{url}/accounts/login/", launcher)
        yield launcher, pids, url
    finally:
        if launcher.poll() is None:
            launcher.kill()
        launcher.wait(timeout=15)


def test_processes_share_the_port_and_stop_together_on_sigterm() -> None:
    with serve_live(2) as (launcher, pids, url):
        # given: two daphne processes, serving
        assert len(pids) == 2 and all(alive(pid) for pid in pids)
        for _ in range(10):
            assert requests.get(f"{url}/accounts/login/", timeout=5).status_code == 200

        # when
        launcher.send_signal(signal.SIGTERM)

        # then: all stop, and the launcher reports a clean stop
        assert launcher.wait(timeout=15) == 0
        assert not any(alive(pid) for pid in pids)


def test_one_process_dying_stops_the_rest_with_an_error() -> None:
    with serve_live(2) as (launcher, pids, _):
        os.kill(pids[0], signal.SIGKILL)
        assert launcher.wait(timeout=15) != 0
        assert not alive(pids[1])
