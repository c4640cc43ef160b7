"""Completions scored as they land, in a forked worker process, so little scoring is left after the last answer.

A run forks one worker before it sends anything (Linux `fork`, only while the process runs one thread, never on a
--dry-run; `CLUE_SCORE_WORKERS=1` turns it off, as it turns off ROUGE's worker processes). The worker inherits the
run's tasks and loaded samples. Once the first completion is in (until then the run's own start-up has the machine)
it imports what scoring needs (`Task.warm`: rouge-score's ~0.4 s of CPU, on the other core, not in the process that
sends), then takes each batch of completions the runner hands over (`feed`: what landed in one turn of its event
loop, and the answers found in the store) and computes, for the tasks whose scores are item by item
(`Task.scores_item_by_item`), each completion's post-processed output and its scores. `feed` never blocks the event
loop: what the pipe cannot take yet waits in the parent and is written when there is room.

`collect(task)` returns them keyed by (sample id, completion text) — exactly the inputs of those computations — and
`clue.task_scores.score_task` takes a row only for that same text, computing anything missing (an item the worker
never got, a task it does not score, a worker that failed or died) itself, the usual way. The same functions on the
same inputs give the same floats: samples.jsonl and scores.json are what scoring at the end writes, byte for byte.

The worker holds no file, lock or store (the parent writes everything, and keeps the run directory's lock to
itself: it forks before taking it); it ignores Ctrl-C (the parent's handling stops the run) and ends when the parent
closes its input, dies, or is done (killed then: it holds nothing).
"""

from __future__ import annotations

import asyncio
import os
import pickle
import select
import signal
import struct
import sys
import threading
from typing import TYPE_CHECKING, Mapping, Sequence

from clue.protocol import RunProtocol
from clue.tasks import Split, Task
from clue.types import Completion, Request

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

Ready = Mapping[tuple[str, str], tuple[str, dict[str, float]]]  # (sample id, completion text) → (output, scores)
_Item = tuple[str, str, str]  # (task, sample id, completion text)


def enabled() -> bool:
    """Whether a run may fork the worker here: Linux, `fork` available, one thread, not switched off."""
    if os.environ.get("CLUE_SCORE_WORKERS", "").strip() == "1" or sys.platform != "linux":
        return False
    return threading.active_count() == 1  # fork copies only the calling thread: another's held locks would stay held


class LiveScorer:
    """The parent's handle on the worker: `feed` batches as they land, `collect` a task's rows once its requests are done."""

    def __init__(self, process: BaseProcess, inbox: Connection, outbox: Connection):
        self._process, self._inbox, self._outbox = process, inbox, outbox
        # written without blocking from the event loop: what the pipe cannot take yet (the worker is still importing)
        # waits here, and goes out when the pipe can take it (loop.add_writer) — no thread, no lock, no GIL hand-off
        self._fd = inbox.fileno()
        os.set_blocking(self._fd, False)
        self._unsent = bytearray()
        self._waiting: asyncio.AbstractEventLoop | None = None  # the loop watching the pipe for room, while it is full
        self._closed = False

    @classmethod
    def start(cls, tasks: Sequence[Task], splits: Mapping[str, Split], profile: RunProtocol, model: str) -> LiveScorer | None:
        """Fork the worker (None where `enabled()` says no, or the fork fails: the run then scores at the end)."""
        if not enabled() or not tasks:
            return None
        import multiprocessing

        try:
            context = multiprocessing.get_context("fork")
            inbox_r, inbox_w = context.Pipe(duplex=False)
            outbox_r, outbox_w = context.Pipe(duplex=False)
            process = context.Process(target=_serve, args=(inbox_r, inbox_w, outbox_r, outbox_w, list(tasks), dict(splits), profile, model),
                                      name="clue-live-scores", daemon=True)
            process.start()
        except (OSError, ValueError):  # no fork here, out of processes or memory: score at the end
            return None
        inbox_r.close()  # the parent keeps only its ends: the worker sees EOF when the parent goes
        outbox_w.close()
        return cls(process, inbox_w, outbox_r)

    def feed(self, pairs: Sequence[tuple[Request, Completion]]) -> None:
        """Hand over answered completions (failed ones are never scored); returns at once."""
        items = [(r.task, r.sample_id, c.text) for r, c in pairs if c.text is not None and c.error is None]
        if items:
            self._send(items)

    def _send(self, message: list[_Item] | str, wait: bool = False) -> None:
        """One message as `Connection.recv` reads it (a 4-byte length, then the pickle), written as far as the pipe
        takes it now — or, with `wait`, all of it (and whatever was left before) before returning."""
        if self._closed:
            return
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self._unsent += struct.pack("!i", len(data)) + data
        self._write(wait)

    def _write(self, wait: bool = False) -> None:
        while self._unsent:
            try:
                n = os.write(self._fd, self._unsent)
            except BlockingIOError:  # full until the worker reads some
                if self._waiting is None and not wait:  # written on from the event loop when there is room
                    try:
                        self._waiting = asyncio.get_running_loop()
                    except RuntimeError:  # fed from outside an event loop: wait here instead
                        wait = True
                    else:
                        self._waiting.add_writer(self._fd, self._write)
                if not wait:
                    return
                select.select([], [self._fd], [])
                continue
            except OSError:  # the worker died: collect() finds nothing, scoring happens at the end
                self._unsent.clear()
                break
            del self._unsent[:n]
        if self._waiting is not None:
            self._waiting.remove_writer(self._fd)
            self._waiting = None

    def collect(self, task: str) -> Ready:
        """The worker's rows for `task`, once every completion of it was fed (empty where it scored none or is gone)."""
        if self._closed:
            return {}
        self._send(task, wait=True)  # with whatever the pipe could not take yet: then the worker answers
        try:
            got = self._outbox.recv()
        except (EOFError, OSError):  # the worker died
            self.close()
            return {}
        return got if isinstance(got, dict) else {}

    def stop(self) -> None:
        """Every task collected: the worker is killed now, and its exit (the kernel freeing its memory, a few ms) goes on
        beside what the run still does; `close` then waits for it."""
        if not self._closed and self._process.is_alive():
            self._process.kill()

    def close(self) -> None:
        """End the worker (it holds nothing: killed, then waited for); idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._waiting is not None:
            self._waiting.remove_writer(self._fd)
            self._waiting = None
        if self._process.is_alive():
            self._process.kill()
        self._process.join()
        for conn in (self._inbox, self._outbox):
            conn.close()


def _serve(inbox: Connection, inbox_w: Connection, outbox_r: Connection, outbox: Connection, tasks: list[Task],
           splits: dict[str, Split], profile: RunProtocol, model: str) -> None:
    """The worker: warm the tasks it scores, then score each batch as it comes; a task's name asks for its rows."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent decides
    inbox_w.close()  # the parent's ends, inherited: closed, so the parent's going is seen as EOF
    outbox_r.close()
    try:  # imports wait for the first completion: until then this process's own start-up has the machine
        first = inbox.recv()
    except (EOFError, OSError):
        return
    by_task = {t.name: t for t in tasks if _item_by_item(t, profile)}
    for task in by_task.values():
        try:
            task.warm()
        except Exception:  # noqa: BLE001, S110 — the parent scores what is missing and meets the error itself
            pass
    samples = {name: {s.id: s for s in splits[name].evaluated} for name in by_task}
    rows: dict[str, dict[tuple[str, str], tuple[str, dict[str, float]]]] = {name: {} for name in by_task}
    while True:
        try:
            message, first = (first, None) if first is not None else (inbox.recv(), None)
        except (EOFError, OSError):
            return  # the parent went away, or is done
        if isinstance(message, str):  # a task's requests are all in: its rows, once
            try:
                outbox.send(rows.pop(message, {}))
            except (OSError, ValueError):
                return
            continue
        for name, sample_id, text in message:
            scorer, done = by_task.get(name), rows.get(name)
            sample = samples[name].get(sample_id) if name in samples else None
            if scorer is None or done is None or sample is None or (sample_id, text) in done:
                continue
            try:
                output = scorer.postprocess_sample(text, sample, profile, model)
                done[(sample_id, text)] = (output, scorer.score(output, sample, profile))
            except Exception:  # noqa: BLE001, S112 — left to the parent (see above)
                continue


def _item_by_item(task: Task, profile: RunProtocol) -> bool:
    try:
        return bool(task.scores_item_by_item(profile))
    except Exception:  # noqa: BLE001 — not known: scored at the end
        return False
