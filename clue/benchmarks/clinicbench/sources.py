"""`clue data fetch|status --benchmark clinicbench`: where each dataset's files come from (datasets.py).

The declarations the core's data commands read (`Benchmark.data_sources`): SOURCES, BUILT,
KNOWN_SHA256, PHYSIONET_HOST, physionet_base, DataFile. A file with a stable URL in datasets.py is
downloaded and checked against its sha256 (or the hash is recorded on first fetch); the others are
placed by the user (`manual()` says where from). MIMIC-derived files (MIMIC-CXR, and the authors'
Hospitalization Summarization / Patient Education files, which hold MIMIC-IV / MIMIC-III text) are
never downloaded by the kit even where a public URL exists: only someone holding PhysioNet credentialed
access under the DUA may obtain them; they are credentialed tasks (PHI guard: loopback endpoints only
unless --allow-remote-phi; run files 0600; never committed). Referral QA was never released.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from clue.benchmarks.clinicbench.datasets import DATASETS

PHYSIONET_HOST = "physionet.org"
GITHUB_RAW_ENV = "CLUE_GITHUB_RAW_URL"  # tests point GitHub raw downloads at a loopback server
_RAW = "https://raw.githubusercontent.com"


def physionet_base() -> str:
    return os.environ.get("CLUE_PHYSIONET_URL", "https://physionet.org").rstrip("/")


@dataclass(frozen=True)
class DataFile:
    task: str
    dest: str  # path under the data directory
    access: str  # public | released-by-authors | credentialed
    full_url: str | None  # None: placed by the user
    page: str  # licence / access page
    note: str = ""
    pick: str | None = None
    build_input: bool = False

    @property
    def credentialed(self) -> bool:
        """Downloads needing PhysioNet credentials: none (credentialed ClinicBench files are placed by hand)."""
        return False

    @property
    def path(self) -> str | None:
        return self.full_url

    def url(self) -> str | None:
        if self.full_url and self.full_url.startswith(_RAW):
            return os.environ.get(GITHUB_RAW_ENV, _RAW).rstrip("/") + self.full_url[len(_RAW):]
        return self.full_url

    def manual(self) -> str:
        if self.access == "credentialed":
            return (f"only with PhysioNet credentialed access (signed DUA): obtain it from {self.page} and save it as "
                    f"<data-dir>/{self.dest} (chmod 600; never commit it) — {self.note}")
        if self.full_url:
            return f"download {self.url()} and save it as <data-dir>/{self.dest}"
        return f"download it from {self.page} and save it as <data-dir>/{self.dest} ({self.note})"


def _sources() -> tuple[DataFile, ...]:
    out = []
    for d in DATASETS:
        if not d.runnable:
            continue
        for f in d.files:
            url = None if d.credentialed else f.url
            note = f"{d.licence}; {d.sources[0]}"
            out.append(DataFile(d.name, f"{d.name}/{f.name}", d.access, url, d.sources[0], note))
    return tuple(out)


SOURCES: tuple[DataFile, ...] = _sources()
KNOWN_SHA256: dict[str, str] = {f"{d.name}/{f.name}": f.sha256 for d in DATASETS for f in d.files if f.sha256}
BUILT: dict[str, str] = {}


def sources_for(task: str) -> list[DataFile]:
    return [s for s in SOURCES if s.task == task]
