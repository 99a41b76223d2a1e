"""Runs the checks over many files: in this process, in a pool of worker processes, or as Ray tasks.

The driver (this process) reads every file, answers what it can from the cache, sends the rest out in
batches of (path, text, digest) triples (so Ray workers need no shared filesystem), writes fixes itself, and yields
outcomes in the order the files were given, whatever the executor. Only a bounded number of batches is in
flight, so memory depends on the batch size, not on the size of the tree.
"""
from __future__ import annotations

import collections
import hashlib
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator

from autofix import source
from autofix.cache import Cache
from autofix.notebook import is_notebook
from autofix.runner import FileOutcome, Job, check_batch, write_fix
from autofix.semantic.index import module_name, summarize_batch

BATCH_SIZE = 16


@dataclass(eq=False)
class _Pending:
    outcome: FileOutcome
    src: source.Source | None = None
    key: str | None = None
    waiting: bool = False  # sent (or to be sent) to a worker
    batch: "_Batch | None" = None  # None while waiting in the batch being filled
    index: int = 0  # position in its batch


@dataclass(eq=False)
class _Batch:
    items: list[_Pending]
    future: object = None  # a concurrent Future, a Ray ObjectRef, or a list of results when run inline
    results: list[FileOutcome] | None = None


class LocalExecutor:
    """`jobs` worker processes (or none: inline, when jobs is 1)."""

    def __init__(self, jobs: int):
        self.jobs = jobs
        self.pool: ProcessPoolExecutor | None = None

    def submit(self, job: Job, batch: list[tuple[str, str, str]]):
        if self.jobs <= 1:
            return check_batch(job, batch)
        if self.pool is None:
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            self.pool = ProcessPoolExecutor(self.jobs, mp_context=multiprocessing.get_context(method))
        return self.pool.submit(check_batch, job, batch)

    def result(self, handle) -> list[FileOutcome]:
        if isinstance(handle, Future):
            return handle.result()
        return handle

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


class RayExecutor:
    """Batches as Ray tasks on a cluster (`address`) or on a local Ray instance started for this run."""

    def __init__(self, address: str | None):
        try:
            import ray
        except ImportError:
            raise RuntimeError("--executor ray needs Ray: pip install 'autofix[ray]'") from None
        self.ray = ray
        self.started = not ray.is_initialized()
        if self.started:
            ray.init(address=address, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
        self.remote = ray.remote(check_batch)
        self.summarize = ray.remote(summarize_batch)
        self._job = self._job_ref = None
        self.jobs = max(1, int(ray.cluster_resources().get("CPU", 1)))

    def submit(self, job: Job, batch: list[tuple[str, str, str]]):
        return self.remote.remote(self._job_ref if self._job is job else job, batch)

    def prepare(self, job: Job, paths: list[str]) -> Job:
        """The first phase: Ray workers cannot read the project's files, so every file given is summarised as a
        Ray task here (the driver reads them), and the check tasks get the merged summaries with the job."""
        items = []
        for path in paths:
            if not path.endswith(".py"):
                continue
            try:
                src = source.read(path)
                module, _, is_package = module_name(Path(path))
            except (source.SourceError, OSError):
                continue
            items.append((str(Path(path).resolve()), src.text, module, is_package, src.digest))
        refs = [self.summarize.remote(items[i:i + BATCH_SIZE]) for i in range(0, len(items), BATCH_SIZE)]
        summaries = {s["path"]: s for batch in self.ray.get(refs) for s in batch if s is not None}
        self._job = replace(job, summaries=summaries)
        self._job_ref = self.ray.put(self._job)  # shipped once, not with every batch
        return self._job

    def result(self, handle) -> list[FileOutcome]:
        return self.ray.get(handle)

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()


def run(
    paths: Iterable[str],
    job: Job,
    executor,
    cache: Cache | None = None,
    batch_size: int = BATCH_SIZE,
    on_done: Callable[[FileOutcome], None] | None = None,
) -> Iterator[FileOutcome]:
    """Yield one FileOutcome per path, in the order given."""
    if hasattr(executor, "prepare"):
        paths = list(paths)
        job = executor.prepare(job, paths)
    queue: collections.deque[_Pending] = collections.deque()
    in_flight: collections.deque[_Batch] = collections.deque()
    open_batch: list[_Pending] = []
    max_in_flight = 2 * max(1, executor.jobs)
    digests: dict[str, str | None] = {}  # content digests of the files cached results depend on, read once

    def send() -> None:
        batch = _Batch(list(open_batch))
        open_batch.clear()
        for index, item in enumerate(batch.items):
            item.batch, item.index = batch, index
        batch.future = executor.submit(job, [(i.outcome.path, i.src.text, i.src.digest) for i in batch.items])
        in_flight.append(batch)

    def collect(batch: _Batch) -> None:
        try:
            batch.results = executor.result(batch.future)
        except BrokenProcessPool:
            batch.results = [FileOutcome(i.outcome.path, error="a worker process died while checking this file's batch")
                             for i in batch.items]

    def finish(item: _Pending) -> FileOutcome:
        outcome = item.outcome
        if item.waiting:
            outcome = item.batch.results[item.index]
            outcome.before, outcome.bom = item.src.text, item.src.has_bom
            if cache is not None and item.key is not None and not (outcome.error or outcome.internal_errors or outcome.warnings):
                cache.put(item.key, outcome.to_cache())
        if item.src is not None:
            write_fix(outcome, item.src, job)
        if outcome.after is None:
            outcome.before = None  # nothing to diff: do not keep the text around
        if on_done is not None:
            on_done(outcome)
        return outcome

    def drain(block: bool) -> Iterator[FileOutcome]:
        while queue:
            head = queue[0]
            if head.waiting and head.batch is None:  # still in the batch being filled
                if not block:
                    return
                send()
                continue
            if head.waiting and head.batch.results is None:
                if not block and len(in_flight) < max_in_flight:
                    return
                collect(in_flight.popleft())
                continue
            yield finish(queue.popleft())

    try:
        for path in paths:
            item = _Pending(FileOutcome(path))
            queue.append(item)
            try:
                item.src = source.read(path)
            except source.SourceError as error:
                item.outcome.error = str(error)
                yield from drain(block=False)
                continue
            item.outcome.bom = item.src.has_bom
            if cache is not None:
                kind = "notebook" if is_notebook(path) else "python"
                item.key = cache.key(item.src.digest, tuple(r.code for r in job.rules_for(path)), kind)
                hit = cache.get(item.key)
                if hit is not None and not _stale(hit.get("depends", {}), digests):
                    item.outcome.before = item.src.text
                    item.outcome.from_cache(hit)
                    yield from drain(block=False)
                    continue
            item.waiting = True
            open_batch.append(item)
            if len(open_batch) >= batch_size:
                send()
            yield from drain(block=False)
        if open_batch:
            send()
        yield from drain(block=True)
    finally:
        executor.close()


def _stale(depends: dict[str, str], digests: dict[str, str | None]) -> bool:
    """True when a file whose summary a cached result used has changed since (or is gone)."""
    for path, digest in depends.items():
        if path not in digests:
            try:
                with open(path, "rb") as handle:
                    digests[path] = hashlib.sha256(handle.read()).hexdigest()
            except OSError:
                digests[path] = None
        if digests[path] != digest:
            return True
    return False


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
