"""Deliver Event Hub batches as the Functions host does: per partition in order, partitions at once.

How the real host hands batches to a Python function (what this stands in for):
- the Event Hubs extension owns each partition on one host instance at a time and invokes the function
  with one batch of that partition at a time, in order; events are read from one point per partition and
  the host moves that point (checkpoints, in the app's storage) after the invocation, every batch with
  ``batchCheckpointFrequency: 1`` (host.json) ("Azure Functions reliable event processing",
  learn.microsoft.com/azure/azure-functions/functions-reliable-event-processing). Without a retry policy a
  failed batch is checkpointed too; ingest_usage has an unbounded one (ingest/__init__.py), so a batch that
  fails is retried and the checkpoint moves only once it is stored. Locally a failure stops the run
  instead, and rerunning resumes every partition after its last checkpoint (devhost/ingest_checkpoints);
- different partitions are invoked at the same time; a sync Python function runs in the worker's thread
  pool, PYTHON_THREADPOOL_THREAD_COUNT threads (default since Python 3.9: the ThreadPoolExecutor default,
  min(32, cpu count + 4)), in FUNCTIONS_WORKER_PROCESS_COUNT processes (default 1) ("Improve throughput
  performance of Python apps in Azure Functions", learn.microsoft.com/azure/azure-functions/
  python-scale-performance-reference). Our hub has 4 partitions (infra/modules/eventhubs.bicep) and batches
  of up to maxEventBatchSize = 500 events (host.json), so one instance runs up to 4 batches at once.

Memory stays flat: each partition holds at most ``depth`` batches waiting besides the one being handled.
A failure stops the delivery: no partition starts another batch, the batches in flight finish (and are
checkpointed if they succeed), and the first failure is raised.
"""
from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterable

from devhost.eventhub import Batch

# The Python worker's default thread pool for sync functions (see above).
WORKER_THREADS = min(32, (os.cpu_count() or 1) + 4)
_DONE = None   # end of a partition's stream


class _Delivery:
    def __init__(self, handle: Callable[[Batch], None], concurrency: int, depth: int):
        self.handle = handle
        self.slots = threading.Semaphore(concurrency)   # batches handled at once, over all partitions
        self.depth = depth
        self.queues: dict[str, queue.Queue[Batch | None]] = {}
        self.threads: list[threading.Thread] = []
        self.stopped = threading.Event()
        self.failure: BaseException | None = None
        self.lock = threading.Lock()

    def route(self, batch: Batch) -> None:
        waiting = self.queues.get(batch.partition)
        if waiting is None:
            waiting = self.queues[batch.partition] = queue.Queue(self.depth)
            thread = threading.Thread(target=self._partition, args=(waiting,), daemon=True,
                                      name=f"eventhub-partition-{batch.partition}")
            self.threads.append(thread)
            thread.start()
        self._put(waiting, batch)

    def _put(self, waiting: queue.Queue[Batch | None], item: Batch | None) -> None:
        while True:   # never block for good: a stopped partition thread still drains its queue
            try:
                waiting.put(item, timeout=0.1)
                return
            except queue.Full:
                if self.stopped.is_set() and item is not _DONE:
                    return

    def _partition(self, waiting: queue.Queue[Batch | None]) -> None:
        while (batch := waiting.get()) is not _DONE:
            if self.stopped.is_set():
                continue   # drain: a failure elsewhere stopped the delivery
            with self.slots:
                if self.stopped.is_set():
                    continue
                try:
                    self.handle(batch)
                except BaseException as exc:   # handed to the caller's thread, raised there
                    self.fail(exc)

    def fail(self, exc: BaseException) -> None:
        with self.lock:
            if self.failure is None:
                self.failure = exc
        self.stopped.set()

    def finish(self) -> None:
        for waiting in self.queues.values():
            self._put(waiting, _DONE)
        for thread in self.threads:
            thread.join()


def deliver(batches: Iterable[Batch], handle: Callable[[Batch], None], concurrency: int = WORKER_THREADS,
            depth: int = 2) -> None:
    """Call ``handle`` on every batch: one partition's batches one after another in their order, up to
    ``concurrency`` partitions at once. Raises the first failure once the batches in flight are done;
    an interrupt (Ctrl-C) likewise lets them finish, so their checkpoints are kept."""
    delivery = _Delivery(handle, max(1, concurrency), max(1, depth))
    try:
        for batch in batches:
            if delivery.stopped.is_set():
                break
            delivery.route(batch)
    except BaseException as exc:
        delivery.fail(exc)
        raise
    finally:
        delivery.finish()
    if delivery.failure is not None:
        raise delivery.failure
