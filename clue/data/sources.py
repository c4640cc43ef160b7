"""The data a benchmark declares, in core-owned types: `DataFile` (one file a task reads) and `Builder`
(a generated dataset, `clue data build NAME`, with its own options).

A benchmark fills `Benchmark.data` with `DataFile`s and `Benchmark.builders` with `Builder`s; the core's
`clue data fetch|status|build`, and `clue run`'s checksum check, read nothing else. A file is
fetched by its `fetcher` (None: placed by hand, `page` says where from):
  `Url`        a plain HTTPS file (GitHub raw at a pinned commit, NLM Open-i, a release asset)
  `HubFile`    a file of a Hugging Face Hub dataset repo at a `revision` (huggingface_hub, `HF_ENDPOINT`)
  `PhysioNet`  a credentialed PhysioNet file, checked against the project's SHA256SUMS.txt
`member` names a file inside the downloaded zip/tar archive. `also` lists other places under the data
directory where the same data may be found (globs, e.g. a folder of public samples): a file found
there is read and its sha256 recorded, but it is not the release, so it is not compared with `sha256`.
Tests point every host at a loopback server: `CLUE_DATA_MIRROR=http://127.0.0.1:PORT` serves
`<mirror>/<host>/<path>`; `CLUE_GITHUB_RAW_URL` and `CLUE_PHYSIONET_URL` replace one host each.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal, Protocol
from urllib.parse import urlparse

Access = Literal["public", "credentialed"]
Role = Literal["test", "train", "dev", "input"]

HOST_ENV = {"raw.githubusercontent.com": "CLUE_GITHUB_RAW_URL", "physionet.org": "CLUE_PHYSIONET_URL"}
MIRROR_ENV = "CLUE_DATA_MIRROR"


def mirrored(url: str) -> str:
    """`url` with its host replaced where an override is set (tests: a loopback server)."""
    parts = urlparse(url)
    host = parts.hostname or ""
    rest = url[len(f"{parts.scheme}://{parts.netloc}"):]
    one = os.environ.get(HOST_ENV.get(host, ""), "")
    if one:
        return one.rstrip("/") + rest
    mirror = os.environ.get(MIRROR_ENV, "")
    return f"{mirror.rstrip('/')}/{host}{rest}" if mirror else url


class Fetcher(Protocol):
    """Where a file comes from. `pin` is the commit/revision the source is fixed at (None: unpinned)."""

    @property
    def where(self) -> str: ...

    @property
    def pin(self) -> str | None: ...


@dataclass(frozen=True)
class Url:
    """A plain HTTPS file. `commit`: the commit pinned in the URL (GitHub raw), None when the host has none.
    `sha256`: of the downloaded file itself when it is an archive the DataFile takes a `member` from."""

    url: str
    commit: str | None = None
    sha256: str | None = None

    @property
    def where(self) -> str:
        return self.url

    @property
    def pin(self) -> str | None:
        return self.commit


@dataclass(frozen=True)
class HubFile:
    """`filename` of the Hugging Face Hub repo `repo` (a dataset) at `revision` (None: the default branch, unpinned)."""

    repo: str
    filename: str
    revision: str | None = None
    sha256: str | None = None  # of the downloaded file when it is an archive
    repo_type: str = "dataset"

    @property
    def where(self) -> str:
        return f"https://huggingface.co/datasets/{self.repo}/blob/{self.revision or 'main'}/{self.filename}"

    @property
    def pin(self) -> str | None:
        return self.revision


@dataclass(frozen=True)
class PhysioNet:
    """A credentialed PhysioNet file: `path` below the host (files/<project>/<version>/…); `pick`: the release's
    file name is unknown, take the one file of the project's SHA256SUMS.txt ending with it."""

    path: str
    pick: str | None = None
    sha256: str | None = None

    @property
    def project_dir(self) -> str:
        return "/".join(self.path.split("/")[:3])

    @property
    def where(self) -> str:
        return f"https://physionet.org/{self.path}"

    @property
    def pin(self) -> str | None:
        return self.project_dir.rsplit("/", 1)[-1]  # the project version


@dataclass(frozen=True)
class DataFile:
    """One file a task reads, at `<data-dir>/<task>/<name>` (or `at`, a path under the data dir, for builder
    inputs); `name` ending in "/" is a directory."""

    name: str
    sha256: str | None = None  # the file as saved; None: recorded in the lock file on first fetch
    fetcher: Url | HubFile | PhysioNet | None = None  # None: placed by hand
    task: str = ""  # the task it belongs to (a builder's inputs: the task built from them)
    access: Access = "public"
    licence: str = ""
    page: str = ""  # licence / access request / manual download page
    citation: str = ""
    role: Role = "test"  # test | train | dev (the few-shot pool) | input (of a builder)
    member: str | None = None  # a path inside the downloaded archive (matched at its end)
    also: tuple[str, ...] = ()  # other accepted locations under the data dir (globs)
    at: str | None = None
    note: str = ""

    @property
    def dest(self) -> str:
        return self.at or f"{self.task}/{self.name}"

    @property
    def credentialed(self) -> bool:
        return self.access == "credentialed"

    @property
    def manual(self) -> bool:
        """Placed by hand: no fetcher, or credentialed content the kit never downloads."""
        return self.fetcher is None

    def locate(self, data_dir: Path) -> tuple[Path, bool] | None:
        """(path, at its own place) of this file under `data_dir`: its `dest`, else the first `also` glob with
        exactly one match; None when absent. A glob with several matches is ambiguous and skipped."""
        data_dir = Path(data_dir)
        own = data_dir / self.dest
        if own.is_dir() if self.name.endswith("/") else own.is_file():
            return own, True
        for pattern in self.also:
            hits = sorted(p for p in data_dir.glob(pattern) if p.is_file())
            if len(hits) == 1:
                return hits[0], False
        return None


@dataclass(frozen=True)
class Builder:
    """`clue data build NAME`: a dataset generated from inputs (e.g. CLUE's MeDiSumCode from MIMIC-IV).
    `add_arguments` adds its own options to the subcommand; `run` builds and returns the written file."""

    name: str
    help: str
    usage: str  # the command line shown by `clue data status` while the file is missing
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], Path]


def bind(task: str, files: tuple[DataFile, ...] | list[DataFile]) -> tuple[DataFile, ...]:
    """`files` declared without their task (a dataset row's files), with it."""
    from dataclasses import replace

    return tuple(replace(f, task=task) for f in files)
