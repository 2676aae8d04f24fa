"""Fixtures for the core tests: a real Celery worker on the real (test) Redis broker."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from celery import signals
from celery.contrib.testing.worker import TestWorkController, start_worker

from config.celery import app as celery_app

# The worker has started once it answers a control ping. A ping sent before its broadcast subscription is in place
# is simply lost, so readiness is polled; the bound only stops a broken broker from hanging the suite.
READY_PING_ATTEMPTS = 40
READY_PING_TIMEOUT_SECONDS = 0.5


@dataclass(frozen=True)
class RunningWorker:
    controller: TestWorkController
    # The queue this worker alone consumes. Tasks sent there cannot be taken by a worker of another test session
    # sharing the test broker (an e2e run, a colleague's suite), which would run them against its own database.
    queue: str


def _leave_logging_alone(**kwargs: Any) -> None:
    """A `setup_logging` receiver: its mere presence stops Celery from reconfiguring the root logger (level ERROR,
    its own handlers) for the rest of the pytest session."""


@pytest.fixture
def celery_worker(transactional_db: None) -> Iterator[RunningWorker]:
    """A Celery worker in a thread of this process: solo pool, remote control enabled, its own queue.

    It needs `transactional_db`: the worker thread has its own database connection and only sees committed rows, and
    Celery's Django fixup closes connections around each task, which would break a test wrapped in a transaction.
    """
    assert celery_app.conf.worker_enable_remote_control, "/health pings workers through remote control"
    queue = f"{celery_app.conf.task_default_queue}-{uuid.uuid4().hex}"
    signals.setup_logging.connect(_leave_logging_alone, weak=False)
    try:
        with start_worker(
            celery_app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=30, queues=[queue]
        ) as controller:
            _wait_until_worker_answers(controller.hostname)
            yield RunningWorker(controller=controller, queue=queue)
    finally:
        signals.setup_logging.disconnect(_leave_logging_alone)  # type: ignore[attr-defined]
        # The queue is single-use: drop it and kombu's binding set for it, so test runs leave no keys behind.
        broker = redis.Redis.from_url(celery_app.conf.broker_url)
        broker.delete(queue, f"_kombu.binding.{queue}")
        broker.close()


def _wait_until_worker_answers(hostname: str) -> None:
    for _ in range(READY_PING_ATTEMPTS):
        if celery_app.control.ping(destination=[hostname], limit=1, timeout=READY_PING_TIMEOUT_SECONDS):
            return
    raise RuntimeError(f"Celery worker {hostname} never answered a control ping")
