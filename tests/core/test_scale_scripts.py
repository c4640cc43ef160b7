"""What the scale-out commands generate, without a cluster: sbatch scripts, Kubernetes manifests (validated
against the official `kubernetes` client's models), apptainer lines, and the one-line user errors."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from clue.roster import load_roster
from clue.scale import apptainer, k8s
from clue.scale.slurm import SlurmOptions, array_script
from clue.serving import ServeOptions
from tests.conftest import ROOT
from tests.core.test_cli_errors import free_port
from tests.core.test_serve import SECRET

BIG = "Meta-Llama-3-70B-Instruct"


def clue(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "CLUE_", "SLURM"))}
    return subprocess.run([sys.executable, "-m", "clue", *args], capture_output=True, text=True, timeout=60,
                          env={**base, "PYTHONPATH": str(ROOT), "HF_TOKEN": SECRET, **(env or {})}, cwd=cwd or ROOT)


def test_sbatch_script_for_a_70b_model(tmp_path):
    proc = clue("slurm", "submit", "--write-only", "--partition", "gpu", "--account", "proj42", "--qos", "normal",
                "--time", "12:00:00", "--mem", "200G", "--cpus-per-task", "16", "--max-parallel", "2",
                "--sbatch-line=--constraint=a100", "--", "--models", f"{BIG} zephyr-7b-beta", "--runs", str(tmp_path / "runs"),
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    sub_dir = tmp_path / "runs" / ".slurm" / "submissions" / "001"
    big = (sub_dir / "array-g4.sbatch").read_text()
    for line in ("#SBATCH --gres=gpu:4", "#SBATCH --array=0-0%2", "#SBATCH --partition=gpu", "#SBATCH --account=proj42",
                 "#SBATCH --qos=normal", "#SBATCH --time=12:00:00", "#SBATCH --mem=200G", "#SBATCH --cpus-per-task=16",
                 "#SBATCH --constraint=a100", f"#SBATCH --chdir={tmp_path}", f"MODELS=({BIG})",
                 f"#SBATCH --output={tmp_path}/runs/.slurm/logs/clue-%A_%a.out"):
        assert line in big.splitlines(), line
    assert big.startswith("#!/bin/bash\n") and f"{sys.executable} -m clue.scale.slurm_jobs task {sub_dir}" in big
    assert "#SBATCH --gres=gpu:1" in (sub_dir / "array-g1.sbatch").read_text()
    merge = (sub_dir / "merge.sbatch").read_text()
    assert "gres" not in merge and "--constraint" not in merge and "#SBATCH --partition=gpu" in merge
    assert SECRET not in big + merge + (sub_dir / "submit.json").read_text()
    syntax = subprocess.run(["bash", "-n", str(sub_dir / "array-g4.sbatch")], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr


def test_sbatch_options_follow_runtime_and_no_gpus(tmp_path):
    model = load_roster().get(BIG)
    sub_dir = tmp_path / ".slurm" / "submissions" / "001"
    assert "--gres" not in array_script([model], 4, sub_dir, SlurmOptions(no_gpus=True), tmp_path)
    assert "--gres" not in array_script([model], 4, sub_dir, SlurmOptions(runtime="none"), tmp_path)
    assert "#SBATCH --gres=tpu:4" in array_script([model], 4, sub_dir, SlurmOptions(gres="tpu"), tmp_path)


@pytest.mark.parametrize("args, message", [
    (["--sbatch-line", "constraint=a100"], "is not one sbatch option"),
    (["--", "--models", "no-such-model"], "not in the roster"),
    (["--", "--models", "llama2-7b"], "no hf_id"),
])
def test_submit_user_errors_are_one_line(tmp_path, args, message):
    proc = clue("slurm", "submit", "--write-only", *args, cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_submit_without_slurm_says_where_to_run(tmp_path):
    proc = clue("slurm", "submit", "--", "--models", "zephyr-7b-beta", "--runs", str(tmp_path / "runs"),
                env={"PATH": str(tmp_path)}, cwd=tmp_path)
    assert proc.returncode == 2 and "`sbatch` not found" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    status = clue("slurm", "status", "--runs", str(tmp_path / "nothing"))
    assert status.returncode == 2 and "no Slurm submission" in status.stderr


# --- Kubernetes ----------------------------------------------------------------------------------

def test_manifest_for_a_70b_model_is_a_valid_indexed_job(tmp_path):
    pytest.importorskip("kubernetes")
    out = tmp_path / "job.yaml"
    proc = clue("k8s", "manifest", "--models", BIG, "--pvc", "results", "--hf-secret", "hf", "--out", str(out), "--", "--tasks", "mednli")
    assert proc.returncode == 0, proc.stderr
    (doc,) = list(yaml.safe_load_all(out.read_text()))
    k8s.validate(doc)
    spec = doc["spec"]
    assert (doc["kind"], spec["completionMode"], spec["completions"]) == ("Job", "Indexed", 1)
    pod = spec["template"]["spec"]
    (server,), (evaluator,) = pod["initContainers"], pod["containers"]
    assert server["restartPolicy"] == "Always" and server["resources"]["limits"] == {"nvidia.com/gpu": "4"}
    assert server["image"] == "ghcr.io/huggingface/text-generation-inference:3.3.7"
    assert "--model-id meta-llama/Meta-Llama-3-70B-Instruct --num-shard 4" in server["command"][2]
    assert server["env"][0] == {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf", "key": "HF_TOKEN", "optional": True}}}
    assert server["startupProbe"]["httpGet"] == {"path": "/health", "port": 8080}
    assert "--no-serve" in evaluator["command"][2] and f"--store /results/runs/{BIG}/store.sqlite" in evaluator["command"][2]
    assert evaluator["command"][2].rstrip().endswith("esac") and "--tasks mednli" in evaluator["command"][2]
    assert {"name": "results", "persistentVolumeClaim": {"claimName": "results"}} in pod["volumes"]
    assert SECRET not in out.read_text()
    sh = subprocess.run(["sh", "-n", "-c", evaluator["command"][2]], capture_output=True, text=True)
    assert sh.returncode == 0, sh.stderr


def test_manifests_group_models_by_gpu_count():
    pytest.importorskip("kubernetes")
    roster = load_roster()
    names = [BIG, "zephyr-7b-beta", "Mixtral-8x22B-Instruct-v0.1", "Mistral-7B-Instruct-v0.2"]
    docs = k8s.manifests([roster.get(n) for n in names], ServeOptions(engine="vllm"), k8s.K8sOptions(), [])
    assert [(d["metadata"]["name"], d["spec"]["completions"]) for d in docs] == [
        ("clue-reproduce-g1", 2), ("clue-reproduce-g4", 1), ("clue-reproduce-g8", 1)]
    for d in docs:
        k8s.validate(d)
    cmd = docs[0]["spec"]["template"]["spec"]["initContainers"][0]["command"][2]
    assert "0) exec vllm serve --model HuggingFaceH4/zephyr-7b-beta" in cmd and "1) exec vllm serve --model mistralai/" in cmd
    assert "--tensor-parallel-size 1" in cmd and "--host 0.0.0.0 --port 8080" in cmd


def test_validation_catches_misspelt_and_missing_fields():
    pytest.importorskip("kubernetes")
    doc = k8s.manifests([load_roster().get(BIG)], ServeOptions(), k8s.K8sOptions(), [])[0]
    bad = copy.deepcopy(doc)
    bad["spec"]["template"]["spec"]["containers"][0]["volumeMount"] = []  # misspelt
    with pytest.raises(ValueError, match="volumeMount"):
        k8s.validate(bad)
    bad = copy.deepcopy(doc)
    del bad["spec"]["template"]["spec"]["containers"][0]["name"]  # required
    with pytest.raises(ValueError):
        k8s.validate(bad)


# --- Apptainer -----------------------------------------------------------------------------------

def test_apptainer_command_line_passes_the_token_by_name():
    proc = clue("serve", "command", BIG, "--runtime", "apptainer", "--port", "9001", "--hf-cache", "/scratch/hf")
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip()
    assert line.startswith('APPTAINERENV_HF_TOKEN="${HF_TOKEN:-}" apptainer run --nv --cleanenv --bind /scratch/hf:/data ')
    assert "docker://ghcr.io/huggingface/text-generation-inference:3.3.7 --model-id meta-llama/Meta-Llama-3-70B-Instruct" in line
    assert line.endswith("--hostname 127.0.0.1 --port 9001") and SECRET not in line
    vllm = clue("serve", "command", BIG, "--runtime", "apptainer", "--engine", "vllm").stdout
    assert "--tensor-parallel-size 4" in vllm and "--host 127.0.0.1 --port 8080" in vllm and "/root/.cache/huggingface" in vllm
    up = clue("serve", "up", BIG, "--runtime", "apptainer")
    assert up.returncode == 2 and "for `clue serve command` only" in up.stderr


def fake_apptainer(path: Path) -> Path:
    """A stand-in `apptainer` that runs the fake server where the real one would run the image (token checked)."""
    path.write_text(f"""#!{sys.executable}
import os, sys
a = sys.argv
assert a[1:4] == ["run", "--nv", "--cleanenv"] and os.environ.get("APPTAINERENV_HF_TOKEN") == {SECRET!r}, a
os.execv({sys.executable!r}, [{sys.executable!r}, {str(ROOT / 'tests' / 'fakeserver')!r},
         "--port", a[a.index("--port") + 1], "--model-id", a[a.index("--model-id") + 1]])
""")
    path.chmod(0o755)
    return path


def test_apptainer_server_starts_healthy_and_stops(tmp_path, monkeypatch):
    fake = fake_apptainer(tmp_path / "apptainer")
    monkeypatch.setenv("HF_TOKEN", SECRET)
    model = load_roster().get("zephyr-7b-beta")
    opts = ServeOptions(port=free_port(), poll_s=0.05, health_timeout_s=30)
    proc = apptainer.start(model, opts, apptainer=str(fake), log=tmp_path / "server.log")
    try:
        from clue.serving import http_get

        status, info = http_get(opts.url + "/info")
        assert status == 200 and info["model_id"] == "HuggingFaceH4/zephyr-7b-beta"
    finally:
        apptainer.stop(proc)
    assert proc.poll() is not None
    stats = json.loads([line for line in (tmp_path / "server.log").read_text().splitlines() if line.startswith("{")][-1])
    assert stats["requests"] == 0


def test_make_reproduce_scheduler_slurm_writes_the_arrays(tmp_path):
    from tests.core.test_reproduce import fake_venv

    venv = fake_venv(tmp_path / "venv")
    argv = ["make", "--no-print-directory", "-C", str(ROOT), "reproduce", f"VENV={venv}", "SCHEDULER=slurm",
            "SLURM_ARGS=--write-only --partition gpu", f"MODELS={BIG} zephyr-7b-beta", f"RUNS={tmp_path / 'runs'}", "SYNTHETIC=1"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS", "HF_", "CLUE_"))}
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, env={**env, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sub = json.loads((tmp_path / "runs" / ".slurm" / "submissions" / "001" / "submit.json").read_text())
    assert sub["pending"] == [BIG, "zephyr-7b-beta"] and "--synthetic" in sub["reproduce_args"]
    assert "#SBATCH --partition=gpu" in (tmp_path / "runs" / ".slurm" / "submissions" / "001" / "array-g4.sbatch").read_text()
    # argv[:6] keeps VENV=: without it `make` would build and pip-install .venv in the checkout first
    bad = subprocess.run([*argv[:6], "SCHEDULER=pbs"], capture_output=True, text=True, timeout=120, env=env)
    assert bad.returncode != 0 and "SCHEDULER=pbs is not supported" in bad.stdout
