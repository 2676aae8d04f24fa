"""Serve the live stream (/ws/live/) from several daphne processes on one port.

    python scripts/serve_live.py [--bind 127.0.0.1] [--port 8001] [--processes N] [daphne options ...]

One daphne process runs one event loop on one core: every frame it sends costs ~45 us of Python (Channels, daphne,
autobahn, Twisted), so a class of 1 000 open dashboards saturates it at about 20 messages a second
(docs/decisions/0008-live-stream.md). This starts `--processes` (default: the number of cores) daphne processes,
each on its own listening socket bound to the same address with SO_REUSEPORT, so the kernel spreads new connections
evenly over them. Each process has its own hub, which joins the channel-layer groups its sockets watch, so a message
reaches each process once.

It forwards SIGTERM and SIGINT to the processes and stops them all when one of them exits (with that exit code), so a
supervisor (systemd, honcho, Kubernetes) sees one service. Options it does not know are passed to daphne
(e.g. --proxy-headers, --access-log -).
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from types import FrameType

APPLICATION = "config.asgi:application"
STOP_TIMEOUT_SECONDS = 10


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-b", "--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("-p", "--port", type=int, default=8001, help="port to listen on (default 8001)")
    parser.add_argument("-n", "--processes", type=int, default=os.cpu_count() or 1, help="daphne processes")
    parser.add_argument("--application", default=APPLICATION, help=f"ASGI application (default {APPLICATION})")
    arguments, daphne_options = parser.parse_known_args()
    if arguments.processes < 1:
        parser.error("--processes must be at least 1")

    children: list[subprocess.Popen[bytes]] = []
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sockets = [listening_socket(arguments.bind, arguments.port) for _ in range(arguments.processes)]
    for sock in sockets:
        command = [sys.executable, "-m", "daphne", "--fd", str(sock.fileno()), *daphne_options, arguments.application]
        children.append(subprocess.Popen(command, pass_fds=[sock.fileno()]))
        sock.close()  # the child holds its own; the port stays open while any of them runs

    print(
        f"serve_live: {len(children)} daphne processes on {arguments.bind}:{arguments.port} "
        f"(pids {' '.join(str(child.pid) for child in children)})",
        flush=True,
    )
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.2)
    ended = next((child for child in children if child.poll() is not None), None)
    code = 0 if stopping or ended is None else (ended.returncode or 1)
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    return code


if __name__ == "__main__":
    sys.exit(main())
