"""The bootstrap draws: how often each cluster is drawn in each replicate, and the products that turn them into
replicate sums (clue/stats.py builds every CI and paired comparison on these).

A draw is `numpy.random.default_rng([seed, crc32(key)]).multinomial(n_clusters, uniform, size=replicates)`: the same
arguments, the same counts, whatever else a report holds. Draws are kept (the last KEEP_DRAWS, as uint8 all but
always) and made once when several threads ask; `prefetch_draws` makes them in background threads (numpy's
multinomial lets go of the GIL). `_times_draws` multiplies a draw by value matrices a few rows at a time, on one BLAS
thread (`_blas`): the same sums on every machine of one CPU kind, whatever its core count or load.
"""

from __future__ import annotations

import os
import threading
import zlib
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from typing import Any, Iterable, Sequence

import numpy as np


def rng_for(seed: int, key: str) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(key.encode("utf-8"))])


_CHUNK = threading.local()  # a few rows of the draws as floats, one buffer per thread
CHUNK_VALUES = 1 << 17  # floats in that buffer (1 MB: it stays in the core's cache)


def _times_draws(n_clusters: int, replicates: int, seed: int, key: str, mats: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The draws (replicates × clusters counts) times each of `mats` (clusters × k floats), a few rows at a time: each
    block of rows converted to floats in a small buffer kept per thread, then one product per matrix. Converting the
    whole draw first (26 MB for 3,300 clusters) cost more than the products, in memory traffic, and a wide product
    over it was slower than the same in cache-sized blocks. How many rows a block holds follows from n_clusters
    only: the same sums on every run (BLAS adds in an order that may follow the shape)."""
    draws = _draws(n_clusters, replicates, seed, key)
    rows = max(8, CHUNK_VALUES // max(1, n_clusters) // 8 * 8)
    buf = getattr(_CHUNK, "buf", None)
    if buf is None or buf.size < rows * n_clusters:
        buf = _CHUNK.buf = np.empty(rows * n_clusters)
    outs = [np.empty((replicates, m.shape[1])) for m in mats]
    mats = [np.ascontiguousarray(m, dtype=np.float64) for m in mats]
    for start in range(0, replicates, rows):
        block = draws[start:start + rows]
        w = buf[:block.size].reshape(block.shape)
        np.copyto(w, block)
        for m, out in zip(mats, outs):
            np.matmul(w, m, out=out[start:start + rows])
    return outs


KEEP_DRAWS = 128  # draws kept (uint8 all but always: 1.5 MB for 1,500 clusters × 1,000 replicates)
_DRAWN: OrderedDict[tuple[int, int, int, str], Future[np.ndarray]] = OrderedDict()
_DRAWN_LOCK = threading.Lock()


def _draws(n_clusters: int, replicates: int, seed: int, key: str) -> np.ndarray:
    """The draws depend only on their arguments (the seed is derived from `key`), and a report asks for
    the same ones once per run and per comparison: drawn once (the last KEEP_DRAWS kept, least recently used
    dropped first), and once only when threads ask at the same time — a draw under way or queued (`prefetch_draws`)
    is waited for, not made again."""
    args = (n_clusters, replicates, seed, key)
    fut, mine = _claim(args)
    if mine:
        _fill(fut, args)
    return fut.result()


def _claim(args: tuple[int, int, int, str]) -> tuple[Future[np.ndarray], bool]:
    """The draw's entry in the kept ones, and whether the caller made it (and must now fill it in)."""
    with _DRAWN_LOCK:
        fut = _DRAWN.get(args)
        if fut is not None:
            _DRAWN.move_to_end(args)
            return fut, False
        fut = _DRAWN[args] = Future()
        while len(_DRAWN) > KEEP_DRAWS:
            _DRAWN.popitem(last=False)
        return fut, True


def _fill(fut: Future[np.ndarray], args: tuple[int, int, int, str]) -> None:
    """Make the draw into its entry; an error is the entry's (raised to whoever waits on it) and leaves it unkept."""
    try:
        fut.set_result(_draw(*args))
    except BaseException as exc:
        with _DRAWN_LOCK:
            if _DRAWN.get(args) is fut:
                _DRAWN.pop(args)
        fut.set_exception(exc)
        if not isinstance(exc, Exception):  # an interrupt goes on up
            raise


def _draw(n_clusters: int, replicates: int, seed: int, key: str) -> np.ndarray:
    """(replicates × clusters) multinomial counts, kept compact: read-only, in the smallest unsigned type that holds
    the largest count (uint8 all but always)."""
    draws = rng_for(seed, key).multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=replicates)
    top = int(draws.max()) if draws.size else 0
    draws = draws.astype(np.uint8 if top < 256 else np.uint16 if top < 65536 else draws.dtype)
    draws.setflags(write=False)
    return draws


@lru_cache(maxsize=1)
def _drawing_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max(1, min(2, os.cpu_count() or 1)), thread_name_prefix="clue-draws")


PREFETCHED = 16  # draws queued or under way in the background at most (more would wait at an exit or an error)


def prefetch_draws(wanted: Iterable[tuple[int, int, int, str]]) -> None:
    """Start these draws (n_clusters, replicates, seed, key) in background threads: numpy's multinomial lets go of
    the GIL, so a run's tasks are drawn on every core while the caller goes on; `_draws` then finds each one made or
    under way (each is entered among the kept draws when queued). The same numbers as drawn one by one: each draw has
    its own generator. At most PREFETCHED wait at once; the rest are drawn when asked for (or prefetched later)."""
    for args in dict.fromkeys(wanted):
        with _DRAWN_LOCK:
            if args in _DRAWN or sum(not f.done() for f in _DRAWN.values()) >= PREFETCHED:
                continue
        fut, mine = _claim(args)
        if mine:
            _drawing_pool().submit(_fill, fut, args)


@lru_cache(maxsize=1)
def _blas() -> Any:
    """The BLAS thread pools (threadpoolctl), found once. The products above run on one thread: OpenBLAS splits a
    product differently across threads, which moves the last bits of a CI with the machine's core count, and its
    threads spin for a core on a busy machine (a 1,000 × 1,500 product: 50 ms there instead of 3)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()
