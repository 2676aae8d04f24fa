"""Helpers for tests that start servers in processes of their own."""

import socket
import subprocess
import time
from typing import Any

import requests


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_answering(url: str, process: "subprocess.Popen[Any]", seconds: float = 30) -> None:
    """Poll `url` until the server answers at all; fail when `process` exits or `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            requests.get(url, timeout=10)
            return
        # a first answer can be slow on a busy machine (the app loads on the first request): keep waiting
        except (requests.ConnectionError, requests.Timeout):
            if time.monotonic() > deadline or process.poll() is not None:
                raise
            time.sleep(0.2)
