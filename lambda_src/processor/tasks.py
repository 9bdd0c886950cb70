"""An ordered group of tasks on a thread pool, for the image core's concurrent phase. No AWS.

Pillow releases the GIL while it resizes and encodes, so threads give the variants of one
image real parallelism. :class:`TaskGroup` adds what the core needs on top of a
``ThreadPoolExecutor``:

* tasks may submit further tasks (a resize submits the encodes that wait for its result), and
  leaving the ``with`` block waits for every task, however late it was submitted;
* each task has an ``order``, its position in the sequential path; when tasks fail, the error
  of the earliest one is raised, exactly the error the sequential path would have raised first
  (tasks are never cancelled: a failure is rare, and later tasks finish before it is raised);
* each task's duration is added to its ``stage``: stage times are sums over overlapping tasks
  (work done, including time spent waiting for a CPU when tasks outnumber them), not wall time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from types import TracebackType

Order = tuple[int, ...]


class TaskGroup:
    """``workers`` threads running ordered, timed tasks; see the module docstring."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers = workers
        self.stage_ms: dict[str, float] = {}
        self._lock = threading.Lock()
        self._submitted: list[tuple[Order, Future[None]]] = []
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> TaskGroup:
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="variants")
        return self

    def submit(self, order: Order, stage: str, work: Callable[[], None]) -> None:
        """Run ``work`` on the pool; usable from inside a running task."""
        assert self._pool is not None, "submit inside the with block"
        future = self._pool.submit(self._run, stage, work)
        with self._lock:
            self._submitted.append((order, future))

    def _run(self, stage: str, work: Callable[[], None]) -> None:
        started = time.perf_counter()
        try:
            work()
        finally:
            elapsed = (time.perf_counter() - started) * 1000.0
            with self._lock:
                self.stage_ms[stage] = self.stage_ms.get(stage, 0.0) + elapsed

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._pool is not None
        try:
            self._wait_all()
        finally:
            self._pool.shutdown(wait=True)
        if exc is None:
            self._raise_first_failure()

    def _wait_all(self) -> None:
        while True:
            with self._lock:
                batch = list(self._submitted)
            wait([future for _, future in batch])
            with self._lock:
                if len(self._submitted) == len(batch):  # nothing was submitted meanwhile
                    return

    def _raise_first_failure(self) -> None:
        failures = [
            (order, error)
            for order, future in self._submitted
            if (error := future.exception()) is not None
        ]
        if failures:
            raise min(failures, key=lambda failure: failure[0])[1]
