"""``TranslationBatcher``: one queue per (engine, source, target) for every room, cut into
batches by a token budget or a short wait, run on worker threads, with deadlines and shedding.

Why batch: a Transformer decodes a batch of 32 short comments in little more time than one, so
under load batching multiplies throughput. Why a short wait: at light load a comment should not
wait for company; ``max_wait_ms`` bounds what batching adds to its latency.

Scheduling, all on the event loop (only the engine call runs on a worker thread):
- a queue is *ready* when its queued tokens reach ``max_batch_tokens`` or its oldest request has
  waited ``max_wait_ms``; a ready queue is cut as soon as a worker (and the engine) is free;
- while every worker is busy, requests keep arriving and the next batch is simply larger;
- among ready queues, the one holding the highest priority, then the oldest request, goes first;
  inside a batch, higher priority then older requests are taken first;
- a request whose deadline has passed is dropped when its batch is cut (``DeadlineExceeded``),
  so a model that fell behind does not spend time on comments nobody waits for any more;
- the number of queued requests is bounded (``max_queue``): when full, the lowest-priority,
  oldest request is shed (``Overloaded``); a new request that ranks below everything queued is
  shed itself. Shed comments go out untranslated with a reason instead of queueing without end.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from typing import Any

from babelcast.glossary import Glossary
from babelcast.translation.engine import Engine, EngineError
from babelcast.translation.protection import Prepared, finish, prepare

log = logging.getLogger("babelcast.translation")


class Overloaded(EngineError):
    """The request was shed because the queue was full (the engine is behind)."""


class DeadlineExceeded(EngineError):
    """The request's deadline passed before a worker got to it."""


Hop = tuple[Engine, str, str]  # (engine, src, tgt)


@dataclass(frozen=True)
class HopJob:
    """One hop of one translation: ``hops[index]`` of the route, for the comment ``source``
    going to ``tgt`` (the final target: glossary terms are per target language). ``text`` and
    ``prepared`` are None on the first hop (the worker protects ``source``) and carry the
    previous hop's output on the next."""

    hops: tuple[Hop, ...]
    index: int
    source: str
    glossary: Glossary | None
    tgt: str
    text: str | None = None
    prepared: Prepared | None = None

    @property
    def hop(self) -> Hop:
        return self.hops[self.index]

    def next(self, result: HopResult) -> HopJob:
        """The job for the hop after this one, fed with ``result``."""
        return replace(self, index=self.index + 1, text=result.text, prepared=result.prepared)


@dataclass(frozen=True)
class HopResult:
    """The output of one hop: the final text when ``done`` (last hop, or nothing to
    translate), else the intermediate text of a pivot."""

    text: str
    prepared: Prepared
    done: bool


@dataclass
class BatcherStats:
    """Counters of the batcher (read from the event loop)."""

    batches: int = 0          # engine calls (translate_batch)
    batched_texts: int = 0    # requests those calls carried
    deduplicated: int = 0     # identical engine inputs inside one batch, translated once
    max_batch: int = 0        # largest batch so far (requests)
    shed_overload: int = 0    # shed because the queue was full
    shed_deadline: int = 0    # dropped at cut time because their deadline had passed
    batch_errors: int = 0     # engine calls that raised
    glossary_fallbacks: int = 0  # texts translated piece by piece (a placeholder was lost)
    glossary_errors: int = 0  # texts translated without their glossary (it failed)
    size_histogram: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(_BUCKETS, 0))

    def record_batch(self, n: int) -> None:
        self.batches += 1
        self.batched_texts += n
        self.max_batch = max(self.max_batch, n)
        self.size_histogram[next(name for name, top in _BUCKET_TOPS if n <= top)] += 1

    @property
    def mean_batch(self) -> float:
        return self.batched_texts / self.batches if self.batches else 0.0


_BUCKET_TOPS = (("1", 1), ("2-4", 4), ("5-16", 16), ("17-64", 64), ("65+", 1 << 62))
_BUCKETS = tuple(name for name, _ in _BUCKET_TOPS)


def estimate_tokens(text: str) -> int:
    """A cheap stand-in for the tokenizer (run on the event loop for every request): about
    four characters per subword token for alphabetic scripts, plus the end-of-sentence token.
    CJK text comes out low; the budget is a target, not a limit of the model."""
    return len(text) // 4 + 2


@dataclass(eq=False)
class _Request:
    job: HopJob
    deadline: float
    priority: int
    enqueued: float
    seq: int
    tokens: int
    future: asyncio.Future[HopResult]
    queue: _Queue | None = None


@dataclass(eq=False)
class _Queue:
    engine: Engine
    src: str
    tgt: str
    items: list[_Request] = field(default_factory=list)  # in arrival order
    tokens: int = 0

    def add(self, req: _Request) -> None:
        req.queue = self
        self.items.append(req)
        self.tokens += req.tokens

    def remove(self, req: _Request) -> None:
        self.items.remove(req)
        self.tokens -= req.tokens
        req.queue = None


class TranslationBatcher:
    """Batches requests per (engine, src, tgt) and runs the batches on ``executor``.

    ``workers`` is how many batches run at once in all (the executor's threads); an engine with
    a ``max_concurrency`` attribute runs at most that many of them. Use from one event loop at
    a time."""

    def __init__(self, executor: Executor, *, workers: int, max_batch_tokens: int = 1024,
                 max_wait_ms: float = 5.0, max_queue: int = 2048) -> None:
        if workers < 1 or max_batch_tokens < 1 or max_queue < 1 or max_wait_ms < 0:
            raise ValueError("workers, max_batch_tokens and max_queue must be >= 1, "
                             "max_wait_ms >= 0")
        self.executor = executor
        self.workers = workers
        self.max_batch_tokens = max_batch_tokens
        self.max_wait_s = max_wait_ms / 1000
        self.max_queue = max_queue
        self.stats = BatcherStats()
        self._seq = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reset()

    def _reset(self) -> None:
        self._queues: dict[tuple[int, str, str], _Queue] = {}
        self._queued = 0
        # (priority, seq, request) of queued requests: the lowest-priority, oldest on top.
        self._by_rank: list[tuple[int, int, _Request]] = []
        self._running = 0
        self._running_per_engine: dict[int, int] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = float("inf")
        self._closed = False

    @property
    def queued(self) -> int:
        """Requests waiting for a batch (not counting those running)."""
        return self._queued

    @property
    def running(self) -> int:
        """Batches running on worker threads now."""
        return self._running

    def submit(self, job: HopJob, *, deadline: float, priority: int = 0
               ) -> asyncio.Future[HopResult]:
        """Queue one hop of a translation. The future resolves to a ``HopResult``, or fails
        with ``Overloaded``, ``DeadlineExceeded`` or ``EngineError``. ``deadline`` is in
        ``loop.time()`` seconds."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # A service used from a new loop (tests run several): nothing of the old one can
            # complete any more.
            self._loop = loop
            self._reset()
        future: asyncio.Future[HopResult] = loop.create_future()
        now = loop.time()
        if self._closed:
            future.set_exception(EngineError("the translation service is shut down"))
            return future
        if deadline <= now:
            self.stats.shed_deadline += 1
            future.set_exception(DeadlineExceeded("deadline passed before it was queued"))
            return future
        text = job.text if job.text is not None else job.source
        req = _Request(job, deadline, priority, now, next(self._seq), estimate_tokens(text),
                       future)
        if self._queued >= self.max_queue and not self._make_room(req, now):
            return future
        engine, src, tgt = job.hop
        key = (id(engine), src, tgt)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = _Queue(engine, src, tgt)
        queue.add(req)
        self._queued += 1
        heapq.heappush(self._by_rank, (req.priority, req.seq, req))
        if len(self._by_rank) > 2 * self.max_queue + 64:
            # Entries of requests that were cut into batches pile up: rebuild from the queues.
            self._by_rank = [(r.priority, r.seq, r) for q in self._queues.values()
                             for r in q.items]
            heapq.heapify(self._by_rank)
        self._pump()
        return future

    def _make_room(self, new: _Request, now: float) -> bool:
        """Shed one request so ``new`` fits: the lowest-priority, oldest one queued (with equal
        timeouts, the oldest is also the nearest its deadline). Returns False, shedding ``new``
        itself, when ``new`` ranks below all of them."""
        victim = self._lowest()
        if victim is None:
            return True
        if new.priority < victim.priority:
            self._fail(new, Overloaded("translation queue full"), overload=True)
            return False
        heapq.heappop(self._by_rank)
        assert victim.queue is not None
        victim.queue.remove(victim)
        self._queued -= 1
        if victim.deadline <= now:
            self._fail(victim, DeadlineExceeded("deadline passed in the queue"))
        else:
            self._fail(victim, Overloaded("translation queue full"), overload=True)
        return True

    def _lowest(self) -> _Request | None:
        """The queued request that is shed first (top of the rank heap), skipping entries of
        requests that left the queue since (lazy deletion keeps submit O(log n))."""
        heap = self._by_rank
        while heap and heap[0][2].queue is None:
            heapq.heappop(heap)
        return heap[0][2] if heap else None

    def _fail(self, req: _Request, exc: EngineError, overload: bool = False) -> None:
        if overload:
            self.stats.shed_overload += 1
        elif isinstance(exc, DeadlineExceeded):
            self.stats.shed_deadline += 1
        if not req.future.done():
            req.future.set_exception(exc)
            # Callers that already gave up never read it: do not log "never retrieved".
            req.future.exception()

    def _capacity(self, engine: Engine) -> bool:
        limit = getattr(engine, "max_concurrency", None) or self.workers
        return self._running_per_engine.get(id(engine), 0) < limit

    def _pump(self) -> None:
        """Start every batch that is ready and has a free worker; arm the timer for the next
        queue that will become ready."""
        loop = self._loop
        if loop is None or self._closed:
            return
        now = loop.time()
        while self._running < self.workers:
            ready = [q for q in self._queues.values()
                     if q.items and self._capacity(q.engine)
                     and (q.tokens >= self.max_batch_tokens
                          or now - q.items[0].enqueued >= self.max_wait_s)]
            if not ready:
                break
            queue = min(ready, key=lambda q: (-max(r.priority for r in q.items),
                                              q.items[0].seq))
            # Idle workers are shared out: a queue gets a batch per free worker it may use, so
            # at light load two comments run side by side on two cores instead of one after
            # the other in one batch. Under load one worker is free at a time: one batch.
            limit = getattr(queue.engine, "max_concurrency", None) or self.workers
            free = min(self.workers - self._running,
                       limit - self._running_per_engine.get(id(queue.engine), 0))
            parts = max(1, free // len(ready))
            budget = min(self.max_batch_tokens, -(-queue.tokens // parts))
            for _ in range(parts):  # all parts now: the rest alone would not be ready yet
                if not queue.items:
                    break
                self._start(queue, now, budget)
        self._arm(now)

    def _arm(self, now: float) -> None:
        assert self._loop is not None
        due = min((q.items[0].enqueued + self.max_wait_s for q in self._queues.values()
                   if q.items and now - q.items[0].enqueued < self.max_wait_s),
                  default=float("inf"))
        if due < self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = due
            self._timer = self._loop.call_at(due, self._on_timer)

    def _on_timer(self) -> None:
        self._timer, self._timer_at = None, float("inf")
        self._pump()

    def _cut(self, queue: _Queue, now: float, budget: int) -> list[_Request]:
        """Take requests (higher priority, then older, first) up to ``budget`` tokens (at least
        one), dropping the expired ones met on the way."""
        batch: list[_Request] = []
        tokens = 0
        for req in sorted(queue.items, key=lambda r: (-r.priority, r.seq)):
            if req.future.done():  # shed or failed already
                queue.remove(req)
                self._queued -= 1
            elif req.deadline <= now:
                queue.remove(req)
                self._queued -= 1
                self._fail(req, DeadlineExceeded("deadline passed in the queue"))
            elif not batch or tokens + req.tokens <= budget:
                queue.remove(req)
                self._queued -= 1
                batch.append(req)
                tokens += req.tokens
            else:
                break  # keep the order: a long comment is not skipped for shorter later ones
        if not queue.items:
            # Drop empty queues so pairs that are no longer used do not accumulate.
            self._queues.pop((id(queue.engine), queue.src, queue.tgt), None)
        return batch

    def _start(self, queue: _Queue, now: float, budget: int) -> None:
        batch = self._cut(queue, now, budget)
        if not batch:
            return
        assert self._loop is not None
        engine = queue.engine
        self._running += 1
        self._running_per_engine[id(engine)] = self._running_per_engine.get(id(engine), 0) + 1
        self.stats.record_batch(len(batch))
        jobs = [r.job for r in batch]
        future = self._loop.run_in_executor(self.executor, run_batch, engine, queue.src,
                                            queue.tgt, jobs)
        loop = self._loop

        def done(f: asyncio.Future[BatchOutcome]) -> None:
            if loop is not self._loop:  # reset since: the counters belong to another loop
                return
            self._running -= 1
            self._running_per_engine[id(engine)] -= 1
            if f.cancelled():
                outcomes: list[Any] = [EngineError("batch cancelled")] * len(batch)
            elif f.exception() is not None:
                outcomes = [EngineError(f"batch failed: {f.exception()}")] * len(batch)
            else:
                result = f.result()
                outcomes = result.results
                self.stats.deduplicated += result.deduplicated
                self.stats.batch_errors += result.failed_calls
                self.stats.glossary_fallbacks += result.glossary_fallbacks
                self.stats.glossary_errors += result.glossary_errors
            for req, outcome in zip(batch, outcomes, strict=True):
                if req.future.done():
                    continue
                if isinstance(outcome, BaseException):
                    req.future.set_exception(outcome)
                    req.future.exception()
                else:
                    req.future.set_result(outcome)
            self._pump()

        future.add_done_callback(done)

    def close(self) -> None:
        """Fail everything queued (callers get the original text) and stop scheduling."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        for queue in self._queues.values():
            for req in queue.items:
                if not req.future.done() and not req.future.get_loop().is_closed():
                    self._fail(req, EngineError("the translation service is shut down"))
        self._queues.clear()
        self._by_rank.clear()
        self._queued = 0


@dataclass
class BatchOutcome:
    """What a worker hands back: one result per job, and counters for ``BatcherStats`` (added
    on the event loop, so the stats are never written from two threads)."""

    results: list[HopResult | EngineError]
    deduplicated: int = 0
    failed_calls: int = 0
    glossary_fallbacks: int = 0  # placeholders lost by the model: translated piece by piece
    glossary_errors: int = 0     # glossary failures: translated without it


def run_batch(engine: Engine, src: str, tgt: str, jobs: list[HopJob]) -> BatchOutcome:
    """On a worker thread: protect first hops, translate each distinct input once, finish
    last hops (glossary verification). One result per job; a text the engine fails on fails
    only its own job when the engine translates the others (see ``_translate_isolating``)."""
    outcome = BatchOutcome([])
    prepared: list[Prepared] = []
    inputs: list[str | None] = []
    for job in jobs:
        p = job.prepared if job.prepared is not None else prepare(job.source, job.glossary,
                                                                  job.tgt)
        prepared.append(p)
        inputs.append(job.text if job.prepared is not None else p.engine_text)
    unique = list(dict.fromkeys(t for t in inputs if t is not None))
    outcome.deduplicated = sum(t is not None for t in inputs) - len(unique)
    translated = _translate_isolating(engine, unique, src, tgt, outcome) if unique else {}
    for job, p, text in zip(jobs, prepared, inputs, strict=True):
        out = translated[text] if text is not None else None
        if isinstance(out, EngineError):
            outcome.results.append(out)
        elif out is not None and job.index < len(job.hops) - 1:
            outcome.results.append(HopResult(out, p, done=False))
        else:
            try:
                final = finish(p, out, _route_runner(job.hops))
                outcome.glossary_fallbacks += final.fallback_used
                outcome.glossary_errors += final.glossary_error is not None
                outcome.results.append(HopResult(final.text, p, done=True))
            except EngineError as exc:
                outcome.results.append(exc)
            except Exception as exc:
                outcome.results.append(EngineError(f"finishing the translation failed: {exc}"))
    return outcome


def _route_runner(hops: tuple[Hop, ...]) -> Callable[[list[str]], list[str]]:
    """Runs a whole route on the calling (worker) thread, for the glossary's fallback."""

    def run(texts: list[str]) -> list[str]:
        for engine, src, tgt in hops:
            texts = _call(engine, texts, src, tgt)
        return texts

    return run


def _call(engine: Engine, texts: list[str], src: str, tgt: str) -> list[str]:
    try:
        out = engine.translate_batch(texts, src, tgt)
    except EngineError:
        raise
    except Exception as exc:
        raise EngineError(f"{engine.name} failed on {src}->{tgt}: {exc}") from exc
    if len(out) != len(texts):
        raise EngineError(f"{engine.name} returned {len(out)} translations for {len(texts)} "
                          f"texts")
    return list(out)


def _translate_isolating(engine: Engine, texts: list[str], src: str, tgt: str,
                         outcome: BatchOutcome) -> dict[str, str | EngineError]:
    """Translate ``texts``; when the batch fails, split it in two and retry the halves, so a
    text the model chokes on fails alone. When both halves fail too, the engine itself is
    broken and the whole part fails without more attempts (three calls, not one per text)."""

    def attempt(part: list[str]) -> dict[str, str | EngineError] | EngineError:
        try:
            return dict(zip(part, _call(engine, part, src, tgt), strict=True))
        except EngineError as exc:
            outcome.failed_calls += 1
            log.warning("%s", exc)
            return exc

    def bisect(part: list[str], exc: EngineError) -> dict[str, str | EngineError]:
        if len(part) == 1:
            return {part[0]: exc}
        halves = [part[:len(part) // 2], part[len(part) // 2:]]
        results = [attempt(h) for h in halves]
        if all(isinstance(r, EngineError) for r in results):
            return dict.fromkeys(part, exc)
        merged: dict[str, str | EngineError] = {}
        for half, res in zip(halves, results, strict=True):
            merged.update(bisect(half, res) if isinstance(res, EngineError) else res)
        return merged

    whole = attempt(texts)
    return bisect(texts, whole) if isinstance(whole, EngineError) else whole
