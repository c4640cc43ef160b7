"""`clue slurm submit` on a real single-node Slurm (scripts/slurm-local.py: munged + slurmctld + slurmd on 127.0.0.1).

Three roster models, each served by the loopback fake server through the docker shim (no containers),
in two job arrays (1 GPU and 2 GPUs, from the roster's shard counts; the test node advertises 8 stand-in
GPUs) plus the afterany merge job:

1. Llama's server fails 30 % of its requests (no retries): its task fails; the merge still runs, writes one
   report + verification over the two finished models and a status table naming Llama with its log.
2. Re-submit: only Llama is submitted and served, sending exactly the requests that failed; the other two
   start no server (0 requests re-sent); the merge now reports all three finished.
Skips cleanly when Slurm cannot start here (not root, packages missing, daemons refusing).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, chat_template_file
from tests.core.test_reproduce import tokenizer_file
from tests.core.test_serve import SECRET, SHIM_CMD, Shim

SCRIPT = ROOT / "scripts" / "slurm-local.py"
MODELS = ["Meta-Llama-3-8B-Instruct", "Mistral-7B-Instruct-v0.2", "Mixtral-8x7B-Instruct-v0.1"]
LLAMA_ID = "meta-llama/Meta-Llama-3-8B-Instruct"


@pytest.fixture(scope="module")
def slurm():
    if os.name != "posix" or os.geteuid() != 0 or not all(shutil.which(b) for b in ("munged", "slurmctld", "slurmd", "sbatch")):
        pytest.skip("Slurm needs root and the Debian packages munge slurmctld slurmd slurm-client (.ci/run installs them)")
    state = Path(tempfile.mkdtemp(prefix="clue-slurm-"))
    proc = subprocess.run([sys.executable, str(SCRIPT), "start", str(state)], capture_output=True, text=True, timeout=120)
    try:
        if proc.returncode != 0:
            pytest.skip(f"Slurm could not start here: {(proc.stderr or proc.stdout).strip()[-300:]}")
        yield state / "slurm.conf"
    finally:
        subprocess.run([sys.executable, str(SCRIPT), "stop", str(state)], capture_output=True, timeout=120)
        shutil.rmtree(state, ignore_errors=True)


class Cluster:
    def __init__(self, tmp: Path, conf: Path):
        self.tmp, self.conf = tmp, conf
        self.shim = Shim(tmp / "shim")
        self.runs, self.report = tmp / "runs", tmp / "report"
        self.run_args = (f"--max-position-embeddings 4096 --tokenizer {tokenizer_file(tmp / 'tokenizer.json')} "
                         f"--chat-template {chat_template_file(tmp)} --no-progress --max-attempts 1 --retry-base 0")

    def env(self, behaviour: dict | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "DOCKER", "OPENAI", "CLUE_", "SLURM"))}
        env.update(self.shim.env, SLURM_CONF=str(self.conf), PYTHONPATH=str(ROOT), HF_TOKEN=SECRET,
                   DOCKER_SHIM_BEHAVIOUR=json.dumps(behaviour or {}))
        return env

    def clue(self, *args: str, behaviour: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "clue", *args], env=self.env(behaviour), cwd=self.tmp,
                              capture_output=True, text=True, timeout=120)

    def submit(self, behaviour: dict | None = None, models: list[str] = MODELS, slurm_args: tuple[str, ...] = (),
               reproduce_args: tuple[str, ...] = ("--docker", SHIM_CMD)) -> tuple[subprocess.CompletedProcess, dict]:
        proc = self.clue("slurm", "submit", "--time", "00:10:00", *slurm_args, "--", "--models", " ".join(models), *reproduce_args,
                         "--synthetic", "--tasks", "meqsum,mednli", "--runs", str(self.runs), "--report", str(self.report),
                         "--poll", "0.05", "--run-args", self.run_args, behaviour=behaviour)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        sub_dir = max((self.runs / ".slurm" / "submissions").iterdir())
        return proc, json.loads((sub_dir / "submit.json").read_text())

    def wait_merge(self, sub: dict, timeout: float = 900.0) -> str:  # a safety net: a round takes ~10-60 s
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = subprocess.run(["scontrol", "-o", "show", "job", sub["merge"]["job_id"]], env=self.env(), capture_output=True, text=True)
            state = out.stdout.split("JobState=")[1].split()[0] if "JobState=" in out.stdout else ""
            if state in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"):
                return state
            time.sleep(0.3)
        logs = "\n".join(p.read_text()[-2000:] for p in (self.runs / ".slurm" / "logs").glob("*.out"))
        raise AssertionError(f"merge job did not end within {timeout:.0f} s\n{logs}")

    def timeline(self, sub: dict) -> str:
        """submit → tasks → merge, seconds from the submission (shown with pytest -s; kept for the closing note)."""
        t0 = sub["submitted"]
        rows = [f"  {0:6.2f}s  submitted arrays {', '.join(a['job_id'] for a in sub['arrays'])} + merge {sub['merge']['job_id']}"]
        for name in sub["pending"]:
            rec = json.loads((self.runs / ".slurm" / "tasks" / f"{name}.json").read_text())
            rows.append(f"  {rec['started'] - t0:6.2f}s → {rec['finished'] - t0:6.2f}s  task {rec['job']} {name}: exit {rec['exit_code']}")
        merge = json.loads((self.runs / ".slurm" / "submissions" / sub["submission"] / "merge.json").read_text())
        rows.append(f"  {merge['started'] - t0:6.2f}s → {merge['finished'] - t0:6.2f}s  merge job {merge['job']}: {merge['counts']}")
        return "\n".join(rows)


def test_submit_fail_merge_resubmit(slurm, tmp_path):
    c = Cluster(tmp_path, slurm)
    try:
        # 1. three models in two arrays (1 and 2 GPUs); Llama's server fails 30 % of requests
        out, sub = c.submit(behaviour={LLAMA_ID: ["--fault", "500=0.3", "--seed", "7"]})
        assert [(a["gpus"], a["models"]) for a in sub["arrays"]] == [(1, MODELS[:2]), (2, MODELS[2:])], out.stdout
        scripts = {a["gpus"]: Path(a["script"]).read_text() for a in sub["arrays"]}
        assert "#SBATCH --gres=gpu:2" in scripts[2] and "#SBATCH --array=0-1" in scripts[1] and SECRET not in "".join(scripts.values())
        assert c.wait_merge(sub) == "COMPLETED"  # it ran despite the failed task (afterany)
        print(f"\nround 1 timeline:\n{c.timeline(sub)}")
        status = (c.report / "status.txt").read_text()
        rows = {line.split()[0]: line for line in status.splitlines()[1:]}
        assert "failed" in rows["Meta-Llama-3-8B-Instruct"] and ".slurm/logs/clue-" in rows["Meta-Llama-3-8B-Instruct"], status
        assert all("finished" in rows[m] for m in MODELS[1:]), status
        log = rows["Meta-Llama-3-8B-Instruct"].split()[-1]
        assert Path(log).is_file() and "Meta-Llama-3-8B-Instruct" in Path(log).read_text()
        assert (c.report / "index.html").is_file()
        verdicts = (c.report / "verify.txt").read_text()
        assert "Mistral-7B-Instruct-v0.2" in verdicts and "Mixtral-8x7B-Instruct-v0.1" in verdicts
        failed = json.loads((c.runs / "Meta-Llama-3-8B-Instruct" / "run.json").read_text())["stats"]["failed"]
        assert failed > 0
        stores = sorted(p.relative_to(c.runs).as_posix() for p in c.runs.glob("*/store.sqlite"))
        assert stores == sorted(f"{m}/store.sqlite" for m in MODELS)  # one store per model, none shared
        st = c.clue("slurm", "status", "--runs", str(c.runs))
        assert st.returncode == 1 and "Meta-Llama-3-8B-Instruct" in st.stdout and "failed" in st.stdout, st.stdout + st.stderr
        print(f"status.txt:\n{status}clue slurm status:\n{st.stdout}")
        served_before = len(c.shim.stats())
        assert served_before == 3

        # 2. re-submit: only the failed model runs; it sends exactly the requests that failed
        out, sub2 = c.submit()
        assert sub2["pending"] == ["Meta-Llama-3-8B-Instruct"] and len(sub2["arrays"]) == 1, out.stdout
        assert c.wait_merge(sub2) == "COMPLETED"
        print(f"round 2 timeline:\n{c.timeline(sub2)}")
        new = c.shim.stats()[served_before:]
        assert [s["model_id"] for s in new] == [LLAMA_ID] and new[0]["stats"]["requests"] == failed
        assert [n for cmd, n in c.shim.commands()[6:]] == ["clue-meta-llama-3-8b-instruct"] * 2  # run + rm, nothing else
        status = json.loads((c.report / "status.json").read_text())
        assert status["counts"] == {"finished": 3, "failed": 0, "skipped": 0, "never run": 0}
        st = c.clue("slurm", "status", "--runs", str(c.runs))
        assert st.returncode == 0, st.stdout + st.stderr

        # 3. nothing left: submit submits nothing
        again = c.clue("slurm", "submit", "--", "--models", " ".join(MODELS), "--docker", SHIM_CMD, "--synthetic",
                       "--tasks", "meqsum,mednli", "--runs", str(c.runs), "--report", str(c.report), "--run-args", c.run_args)
        assert again.returncode == 0 and "nothing to submit" in again.stderr, again.stdout + again.stderr
        written = "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".sqlite")
        assert SECRET not in written
    finally:
        jobs = [j for sub_dir in (c.runs / ".slurm" / "submissions").glob("*") for j in _jobs(sub_dir)]
        if jobs:
            subprocess.run(["scancel", *jobs], env=c.env(), capture_output=True)  # no-op once they ended
        c.shim.cleanup()


def _jobs(sub_dir: Path) -> list[str]:
    sub = json.loads((sub_dir / "submit.json").read_text())
    return [a["job_id"] for a in sub["arrays"]] + ([sub["merge"]["job_id"]] if sub.get("merge") else [])


def test_held_jobs_block_a_second_submit_and_cancelled_ones_are_never_run(slurm, tmp_path):
    c = Cluster(tmp_path, slurm)
    try:
        _, sub = c.submit(models=MODELS[:2], slurm_args=("--sbatch-line=--hold",))
        again = c.clue("slurm", "submit", "--", "--models", " ".join(MODELS[:2]), "--synthetic", "--runs", str(c.runs))
        assert again.returncode == 2 and "still has" in again.stderr and "scancel" in again.stderr, again.stderr
        st = c.clue("slurm", "status", "--runs", str(c.runs))
        assert st.returncode == 1 and st.stdout.count("pending") >= 2, st.stdout
        subprocess.run(["scancel", sub["arrays"][0]["job_id"]], env=c.env(), check=True)
        assert c.wait_merge(sub) == "COMPLETED"  # afterany: cancelled tasks count as ended
        status = json.loads((c.report / "status.json").read_text())
        assert status["counts"]["never run"] == 2 and {r["state"] for r in status["models"]} == {"never run"}
        assert not (c.report / "index.html").exists()
        assert c.shim.calls() == []
    finally:
        jobs = [j for sub_dir in (c.runs / ".slurm" / "submissions").glob("*") for j in _jobs(sub_dir)]
        if jobs:
            subprocess.run(["scancel", *jobs], env=c.env(), capture_output=True)


def test_apptainer_runtime_inside_the_array_task(slurm, tmp_path):
    from tests.core.test_scale_scripts import fake_apptainer

    c = Cluster(tmp_path, slurm)
    fake = fake_apptainer(tmp_path / "apptainer")
    try:
        _, sub = c.submit(models=["zephyr-7b-beta"], slurm_args=("--runtime", "apptainer", "--apptainer", str(fake)),
                          reproduce_args=())
        assert c.wait_merge(sub) == "COMPLETED"
        status = json.loads((c.report / "status.json").read_text())
        assert status["counts"]["finished"] == 1, status
        stats = json.loads((c.runs / "zephyr-7b-beta" / "run.json").read_text())["stats"]
        assert stats["sent"] > 0 and stats["failed"] == 0
    finally:
        jobs = [j for sub_dir in (c.runs / ".slurm" / "submissions").glob("*") for j in _jobs(sub_dir)]
        if jobs:
            subprocess.run(["scancel", *jobs], env=c.env(), capture_output=True)
