"""User-caused errors: one line naming the problem and the fix, non-zero exit, no traceback."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import run_clue


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_one_line_error(proc, *needles: str) -> None:
    assert proc.returncode != 0, proc.stdout
    err = proc.stderr.strip()
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = [ln for ln in err.splitlines() if ln.startswith("clue: error:")]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_missing_data_file(tmp_path):
    proc = run_clue("run", "--engine", "baseline", "--tasks", "meqsum", "--data-dir", str(tmp_path / "nodata"),
                    "--out", str(tmp_path / "run"), "--store", str(tmp_path / "s.sqlite"))
    assert_one_line_error(proc, "MeQSum_ACL2019_BenAbacha_Demner-Fushman.xlsx", "missing", "get it from")


def test_unreachable_tgi_endpoint(tmp_path, synthetic_dir):
    proc = run_clue("run", "--engine", "tgi", "--endpoint", f"http://127.0.0.1:{free_port()}", "--model", "org/m",
                    "--tasks", "meqsum", "--data-dir", str(synthetic_dir), "--out", str(tmp_path / "run"),
                    "--store", str(tmp_path / "s.sqlite"))
    assert_one_line_error(proc, "cannot reach", "start the server")


def test_unreachable_openai_endpoint(tmp_path, synthetic_dir):
    proc = run_clue("run", "--engine", "openai", "--endpoint", f"http://127.0.0.1:{free_port()}/v1", "--model", "m",
                    "--tasks", "meqsum", "--data-dir", str(synthetic_dir), "--out", str(tmp_path / "run"),
                    "--store", str(tmp_path / "s.sqlite"), "--max-attempts", "1", "--timeout", "5")
    assert_one_line_error(proc, "cannot reach")


def test_missing_api_key_for_a_remote_endpoint(tmp_path, synthetic_dir):
    # 192.0.2.0/24 is TEST-NET-1: the check fails before any connection is attempted
    proc = run_clue("run", "--engine", "openai", "--endpoint", "https://192.0.2.1/v1", "--model", "m", "--tasks", "meqsum",
                    "--data-dir", str(synthetic_dir), "--out", str(tmp_path / "run"), "--store", str(tmp_path / "s.sqlite"))
    assert_one_line_error(proc, "OPENAI_API_KEY", "export")


@pytest.mark.parametrize("args,needle", [
    (["--protocol", "clue-v9"], "unknown protocol"),
    (["--tasks", "nosuch"], "unknown task"),
    (["--max-failures", "lots"], "--max-failures"),
])
def test_bad_options(tmp_path, synthetic_dir, args, needle):
    proc = run_clue("run", "--engine", "baseline", "--data-dir", str(synthetic_dir), "--out", str(tmp_path / "run"),
                    "--store", str(tmp_path / "s.sqlite"), *args)
    assert_one_line_error(proc, needle)


def test_tgi_without_model_or_endpoint(tmp_path):
    assert_one_line_error(run_clue("run", "--engine", "tgi", "--out", str(tmp_path / "r")), "--model")
    assert_one_line_error(run_clue("run", "--engine", "tgi", "--model", "m", "--synthetic", "--out", str(tmp_path / "r"),
                                   "--store", str(tmp_path / "s.sqlite")), "--endpoint")


def test_unwritable_output_directory(tmp_path, synthetic_dir):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run_clue("run", "--engine", "baseline", "--data-dir", str(synthetic_dir), "--out", str(blocker / "run"),
                    "--store", str(tmp_path / "s.sqlite"))
    assert_one_line_error(proc, "run directory", "--out")


def test_damaged_xlsx(tmp_path):
    bad = tmp_path / "data" / "meqsum"
    bad.mkdir(parents=True)
    (bad / "MeQSum_ACL2019_BenAbacha_Demner-Fushman.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    proc = run_clue("run", "--engine", "baseline", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "run"),
                    "--store", str(tmp_path / "s.sqlite"))
    assert_one_line_error(proc, "has sha256", "expected abedd939")  # the data check sees it first
    proc = run_clue("run", "--engine", "baseline", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "run"),
                    "--store", str(tmp_path / "s.sqlite"), "--allow-data-mismatch")
    assert_one_line_error(proc, "not a readable xlsx")


def test_ctrl_c_before_a_command_starts_is_one_line_and_exit_130(monkeypatch, capsys):
    from clue import cli

    def interrupted(argv):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_main", interrupted)
    assert cli.main(["run", "--engine", "baseline"]) == 130
    assert capsys.readouterr().err == "clue: interrupted\n"
    with pytest.raises(KeyboardInterrupt):  # --debug keeps the traceback
        cli.main(["--debug", "run"])


def test_synthetic_data_is_written_aside_then_renamed(tmp_path):
    from clue.benchmarks.clue.synthetic import materialize

    materialize(tmp_path)
    materialize(tmp_path)  # again over the same files: replaced whole
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files and not [f for f in files if f.endswith(".tmp")]
