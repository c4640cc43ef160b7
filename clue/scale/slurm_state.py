"""The state `clue slurm` keeps and reads: where it lives (`<runs>/.slurm/`), the submissions written there, and
what Slurm itself says about their jobs (`squeue`, `scontrol`).

Shared by clue/scale/slurm.py (submit, which writes it) and clue/scale/slurm_jobs.py (the array tasks, the merge and
`clue slurm status`, which read it); neither imports the other for it.
"""

from __future__ import annotations

import getpass
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from clue.errors import ConfigError, UserError

STATE_DIR = ".slurm"


def state_dir(runs: str | Path) -> Path:
    return Path(runs).resolve() / STATE_DIR


def slurm_cmd(*argv: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    if shutil.which(argv[0]) is None:
        raise ConfigError(f"`{argv[0]}` not found", "run this on a Slurm login node (or load the site's slurm module)")
    try:
        return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise UserError(f"`{argv[0]}` did not answer within {timeout:.0f} s", "is slurmctld reachable? try `scontrol ping`") from None


def queued(job_ids: list[str]) -> dict[str, tuple[str, str]]:
    """{job id or array task id (`12_3`): (state, reason)} for the given jobs still known to squeue."""
    if not job_ids:
        return {}
    proc = slurm_cmd("squeue", "-h", "-r", "-u", getpass.getuser(), "-o", "%F|%i|%T|%r")
    found: dict[str, tuple[str, str]] = {}
    for line in proc.stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) == 4 and (parts[0] in job_ids or parts[1] in job_ids):
            found[parts[1]] = (parts[2], parts[3])
    return found


def job_state(job_id: str) -> str | None:
    """JobState from `scontrol show job` (None once Slurm has forgotten the job)."""
    proc = slurm_cmd("scontrol", "-o", "show", "job", job_id)
    match = re.search(r"\bJobState=(\S+)", proc.stdout) if proc.returncode == 0 else None
    return match.group(1) if match else None


# --- submissions ----------------------------------------------------------------------------------

def load_submission(sub_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((sub_dir / "submit.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        raise ConfigError(f"{sub_dir} holds no readable submit.json", "submit first: clue slurm submit -- [reproduce options]") from None


def latest_submission(runs: str | Path) -> Path | None:
    subs = sorted((state_dir(runs) / "submissions").glob("[0-9]*"))
    return subs[-1] if subs else None
