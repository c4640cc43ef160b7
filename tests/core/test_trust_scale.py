"""Issue 23 item 4: no value reaches a generated sbatch script or Kubernetes manifest as anything but one quoted value.

`--partition $'gpu\\ntouch X'` used to write a bare `touch X` line into every sbatch script (so did --account, --qos,
--time, --mem, --gres and --job-name). Now a value with a newline or another control character is one line
naming the option, and a value with spaces or quotes is quoted so that the #SBATCH line carries exactly that
value (read back here with `shlex`, whose rules sbatch's directive parser shares: quotes and backslashes).
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from clue.errors import ConfigError
from clue.roster import load_roster
from clue.scale import k8s
from clue.scale.slurm import SlurmOptions, array_script, merge_script
from tests.core.test_scale_scripts import BIG, clue

HOSTILE = ("gpu\ntouch X", "gpu\rtouch X", "gpu\x00x", "gpu\x1b[2Jx", "gpu\u2028touch X")
FIELDS = {"partition": "--partition", "account": "--account", "qos": "--qos", "time": "--time", "mem": "--mem",
          "gres": "--gres", "job_name": "--job-name", "merge_time": "--merge-time", "apptainer": "--apptainer"}


def sbatch_values(script: str) -> dict[str, str]:
    """{option: value} of the #SBATCH lines, split the way sbatch splits them."""
    out = {}
    for line in script.splitlines():
        if line.startswith("#SBATCH "):
            words = shlex.split(line[len("#SBATCH "):], comments=True)
            assert len(words) == 1, line
            name, _, value = words[0].partition("=")
            out[name] = value
    return out


@pytest.mark.parametrize("field", sorted(FIELDS))
@pytest.mark.parametrize("value", HOSTILE)
def test_control_characters_are_refused(field, value):
    with pytest.raises(ConfigError) as err:
        SlurmOptions(**{field: value})
    assert FIELDS[field] in err.value.line() and "\n" not in err.value.line()


def test_refused_on_the_command_line_before_anything_is_written(tmp_path: Path):
    for option in ("--partition", "--account", "--qos", "--time", "--mem", "--gres", "--job-name"):
        proc = clue("slurm", "submit", "--write-only", option, "gpu\ntouch X", "--", "--models", "zephyr-7b-beta",
                    "--runs", str(tmp_path / "runs"), cwd=tmp_path)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and option in lines[0] and "Traceback" not in proc.stderr, proc.stderr
        assert not (tmp_path / "runs" / ".slurm").exists()


def test_spaces_and_quotes_are_quoted(tmp_path: Path):
    so = SlurmOptions(partition="gpu a100", account="it's", qos="q#1", time="1-00:00:00", mem="200G", job_name="my job",
                      gres="gpu", merge_time="02:00:00")
    workdir = tmp_path / "work dir"
    sub_dir = tmp_path / "runs $(x)" / ".slurm" / "submissions" / "001"
    model = load_roster().get(BIG)
    script = array_script([model], 4, sub_dir, so, workdir)
    values = sbatch_values(script)
    assert values["--partition"] == "gpu a100" and values["--account"] == "it's" and values["--qos"] == "q#1"
    assert values["--job-name"] == "my job-g4" and values["--chdir"] == str(workdir)
    assert values["--output"] == f"{tmp_path}/runs $(x)/.slurm/logs/my job-%A_%a.out"
    assert values["--gres"] == "gpu:4" and values["--mem"] == "200G" and values["--time"] == "1-00:00:00"
    merge = sbatch_values(merge_script(sub_dir, so, workdir))
    assert merge["--job-name"] == "my job-merge" and merge["--time"] == "02:00:00" and merge["--partition"] == "gpu a100"
    # every line is a directive, a comment, or one of the two lines the kit writes
    body = [ln for ln in script.splitlines() if ln and not ln.startswith("#")]
    assert len(body) == 2 and body[0].startswith("MODELS=(") and body[1].startswith("exec ")


def test_a_path_with_a_newline_is_refused(tmp_path: Path):
    model = load_roster().get(BIG)
    with pytest.raises(ConfigError):
        array_script([model], 4, tmp_path / "runs\ntouch X" / ".slurm" / "submissions" / "001", SlurmOptions(), tmp_path)


@pytest.mark.parametrize("field", ["pvc", "mount", "hf_secret", "hf_cache_pvc", "kit_image", "namespace", "name"])
def test_k8s_values_with_control_characters_are_refused(field):
    with pytest.raises(ConfigError) as err:
        k8s.K8sOptions(**{field: "x\ny"})
    assert "\n" not in err.value.line()


def test_k8s_manifest_refuses_on_the_command_line(tmp_path: Path):
    proc = clue("k8s", "manifest", "--models", "zephyr-7b-beta", "--pvc", "results\nkind: Pod", "--no-validate")
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "--pvc" in lines[0], proc.stderr


def test_a_runs_folder_with_a_newline_is_refused_on_the_command_line(tmp_path: Path):
    proc = clue("slurm", "submit", "--write-only", "--", "--models", "zephyr-7b-beta", "--runs", str(tmp_path / "runs\ntouch X"),
                cwd=tmp_path)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "--runs" in lines[0], proc.stderr
    assert list(tmp_path.iterdir()) == []
