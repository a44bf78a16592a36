"""DataLoader worker processes: the loop each worker runs, ``get_worker_info()``, and the
main-process iterator that feeds the workers and hands their batches back in order.

Protocol: the main process puts ``(task, index)`` on a worker's own index queue (round-robin,
at most ``prefetch_factor`` tasks per worker in flight); the worker answers ``(task, batch)`` on
the shared result queue, or ``(task, _ExceptionWrapper)`` when the dataset, the collate function
or ``worker_init_fn`` raised, which the main process re-raises naming the worker. A worker of an
IterableDataset answers ``_StreamEnd`` once its stream is done. ``None`` on an index queue tells
the worker to exit; ``_Resume`` (persistent workers) starts a new epoch.
"""
import itertools
import os
import pickle
import queue
import random
import sys
import time
import traceback
from dataclasses import dataclass

import numpy as np

from .fetch import IterableFetcher, MapFetcher

__all__ = ["WorkerInfo", "get_worker_info"]

_POLL_SECONDS = 1.0  # how often a waiting main process checks that its workers are alive
_worker_info = None  # set in a worker process only (each worker is its own process)


@dataclass(frozen=True)
class WorkerInfo:
    id: int
    num_workers: int
    seed: int
    dataset: object


def get_worker_info():
    """In a DataLoader worker: its ``WorkerInfo(id, num_workers, seed, dataset)``; in the main process: None."""
    return _worker_info


class _ExceptionWrapper:
    """An exception raised in a worker, carried to the main process as its type and traceback text."""

    def __init__(self, worker_id):
        exc_type, exc, _ = sys.exc_info()
        try:
            pickle.dumps(exc_type)
            self.exc_type = exc_type
        except Exception:  # noqa: BLE001 - a class defined where the main process cannot find it
            self.exc_type = None
        self.type_name = exc_type.__name__
        self.where = f"in DataLoader worker process {worker_id}"
        self.text = "".join(traceback.format_exception(exc_type, exc, exc.__traceback__))

    def reraise(self):
        message = f"Caught {self.type_name} {self.where}.\nOriginal {self.text}"
        try:
            exc = self.exc_type(message) if self.exc_type is not None else RuntimeError(message)
        except Exception:  # noqa: BLE001 - an exception class whose constructor needs other arguments
            exc = RuntimeError(message)
        raise exc


@dataclass(frozen=True)
class _StreamEnd:
    worker_id: int


class _Resume:
    """Sent to persistent workers at the start of a new epoch; answered with ``(_Resume, None)``."""


def _worker_loop(kind, dataset, index_queue, result_queue, collate_fn, auto_collation, drop_last,
                 base_seed, worker_init_fn, worker_id, num_workers):
    global _worker_info
    seed = base_seed + worker_id
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    from ...core import random as trandom
    trandom.manual_seed(seed)
    _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
    init_error = None
    try:
        if worker_init_fn is not None:
            worker_init_fn(worker_id)
        fetcher = _make_fetcher(kind, dataset, auto_collation, collate_fn, drop_last)
    except Exception:  # noqa: BLE001 - reported with the first batch
        init_error = _ExceptionWrapper(worker_id)
    stream_ended = False
    while True:
        try:
            item = index_queue.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            if os.getppid() == 1:  # the main process is gone
                return
            continue
        if item is None:
            break
        if isinstance(item, _Resume):
            result_queue.put((_Resume, None))
            stream_ended = False
            if init_error is None:
                fetcher = _make_fetcher(kind, dataset, auto_collation, collate_fn, drop_last)
            continue
        task, index = item
        if init_error is not None:
            result_queue.put((task, init_error))
            continue
        if stream_ended:
            continue
        try:
            data = fetcher.fetch(index)
        except StopIteration:
            stream_ended = True
            data = _StreamEnd(worker_id)
        except Exception:  # noqa: BLE001 - every failure goes to the main process
            data = _ExceptionWrapper(worker_id)
        result_queue.put((task, data))
        del data
    result_queue.cancel_join_thread()


def _make_fetcher(kind, dataset, auto_collation, collate_fn, drop_last):
    cls = IterableFetcher if kind == "iterable" else MapFetcher
    return cls(dataset, auto_collation, collate_fn, drop_last)


class MultiProcessIterator:
    """Iterate a DataLoader's batches produced by ``num_workers`` worker processes, in order."""

    def __init__(self, loader):
        from ._random import draw_seed
        import multiprocessing as mp

        self._loader = loader
        self._kind = loader._dataset_kind
        self._n = loader.num_workers
        self._prefetch = loader.prefetch_factor
        self._timeout = loader.timeout
        self._persistent = loader.persistent_workers
        ctx = loader.multiprocessing_context
        ctx = mp.get_context(ctx) if ctx is None or isinstance(ctx, str) else ctx
        base_seed = draw_seed(loader.generator, "DataLoader")
        self._result_queue = ctx.Queue()
        self._index_queues, self._workers = [], []
        for i in range(self._n):
            q = ctx.Queue()
            q.cancel_join_thread()
            w = ctx.Process(target=_worker_loop, daemon=True,
                            args=(self._kind, loader.dataset, q, self._result_queue, loader.collate_fn,
                                  loader._auto_collation, loader.drop_last, base_seed, loader.worker_init_fn,
                                  i, self._n))
            w.start()
            self._index_queues.append(q)
            self._workers.append(w)
        self._shut = False
        self._reset(first=True)

    def _reset(self, first=False):
        self._indices = self._loader._index_iterator()
        self._send_idx = self._rcvd_idx = 0
        self._tasks = {}  # task -> (worker,) while waiting, (worker, data) once it came early
        self._active = [True] * self._n
        self._cycle = itertools.cycle(range(self._n))
        if not first:  # persistent workers: drop the last epoch's leftovers, restart the streams
            for q in self._index_queues:
                q.put(_Resume())
            acks = 0
            while acks < self._n:
                task, _ = self._get()
                acks += task is _Resume
        for _ in range(self._prefetch * self._n):
            self._put_next()

    def _put_next(self):
        try:
            index = next(self._indices)
        except StopIteration:
            return
        for _ in range(self._n):
            worker = next(self._cycle)
            if self._active[worker]:
                break
        else:
            return
        self._index_queues[worker].put((self._send_idx, index))
        self._tasks[self._send_idx] = (worker,)
        self._send_idx += 1

    def _get(self):
        """The next ``(task, data)`` from any worker; raises if a worker died or the timeout passed."""
        start = time.monotonic()
        while True:
            wait = _POLL_SECONDS if self._timeout <= 0 else min(_POLL_SECONDS, self._timeout)
            try:
                return self._result_queue.get(timeout=wait)
            except queue.Empty:
                dead = [w for w, on in zip(self._workers, self._active) if on and not w.is_alive()]
                if dead:
                    self._shutdown()
                    pids = ", ".join(str(w.pid) for w in dead)
                    codes = ", ".join(str(w.exitcode) for w in dead)
                    raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited unexpectedly "
                                       f"(exit code(s) {codes})") from None
                if self._timeout > 0 and time.monotonic() - start >= self._timeout:
                    self._shutdown(force=True)  # the workers are stuck: do not wait for them
                    raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds") from None

    def __iter__(self):
        return self

    def __next__(self):
        while True:
            while self._rcvd_idx < self._send_idx:
                info = self._tasks[self._rcvd_idx]
                if len(info) == 2 or self._active[info[0]]:
                    break
                del self._tasks[self._rcvd_idx]  # its worker's stream has ended
                self._rcvd_idx += 1
            else:
                if not self._persistent:
                    self._shutdown()
                raise StopIteration
            if len(self._tasks[self._rcvd_idx]) == 2:
                data = self._tasks.pop(self._rcvd_idx)[1]
                self._rcvd_idx += 1
                self._put_next()
                return self._deliver(data)
            task, data = self._get()
            if task is _Resume:
                continue
            if isinstance(data, _StreamEnd):
                self._active[data.worker_id] = False  # its waiting tasks are skipped above
                continue
            if task != self._rcvd_idx:
                self._tasks[task] += (data,)
                continue
            del self._tasks[task]
            self._rcvd_idx += 1
            self._put_next()
            return self._deliver(data)

    def _deliver(self, data):
        if isinstance(data, _ExceptionWrapper):
            self._shutdown()
            data.reraise()
        return data

    def _shutdown(self, force=False):
        if self._shut:
            return
        self._shut = True
        for q in self._index_queues:
            try:
                q.put(None)
            except (OSError, ValueError):
                pass
        for w in self._workers:
            w.join(timeout=0 if force else 5)
            if w.is_alive():
                w.terminate()
                w.join(timeout=1)
        for q in self._index_queues + [self._result_queue]:
            q.cancel_join_thread()
            q.close()

    def __del__(self):
        try:
            self._shutdown()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass
