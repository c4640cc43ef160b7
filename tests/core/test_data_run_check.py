"""`clue run` checks the data files' sha256 it knows and records every data file's hash in run.json.

The expected MeQSum hash is the published file's (copied here by hand from the CLUE sources table);
the files' hashes are computed with hashlib here, never by the kit's helper.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from clue.data.lock import LOCK
from tests.conftest import run_clue
from tests.core.test_cli_errors import assert_one_line_error

MEQSUM = "meqsum/MeQSum_ACL2019_BenAbacha_Demner-Fushman.xlsx"
MEQSUM_SHA = "abedd939d5014306ca576522416bf69103e85dc8fcf1668a4099e8b84a39eeea"


def _run(tmp_path: Path, data: Path, name: str, *extra: str):
    return run_clue("run", "--engine", "baseline", "--tasks", "meqsum,longhealth", "--data-dir", str(data), "--out",
                    str(tmp_path / name), "--store", str(tmp_path / "s.sqlite"), "--no-progress", *extra)


def test_kit_filled_data_is_recorded_not_compared(tmp_path: Path, synthetic_dir: Path) -> None:
    proc = _run(tmp_path, synthetic_dir, "a")
    assert proc.returncode == 0, proc.stderr
    files = json.loads((tmp_path / "a" / "run.json").read_text())["data_files"]["files"]
    meq = files[MEQSUM]
    assert meq["sha256"] == hashlib.sha256((synthetic_dir / MEQSUM).read_bytes()).hexdigest()
    assert meq["check"].startswith("filled by the kit")
    assert files["longhealth/benchmark_v5.json"]["sha256"] == hashlib.sha256(
        (synthetic_dir / "longhealth/benchmark_v5.json").read_bytes()).hexdigest()


def test_a_mismatch_stops_the_run_in_one_line_unless_allowed(tmp_path: Path, synthetic_dir: Path) -> None:
    (synthetic_dir / LOCK).unlink()  # no longer marked as the kit's synthetic data: the known hash applies
    got = hashlib.sha256((synthetic_dir / MEQSUM).read_bytes()).hexdigest()
    proc = _run(tmp_path, synthetic_dir, "b")
    assert_one_line_error(proc, str(synthetic_dir / MEQSUM), f"sha256 {got}", f"expected {MEQSUM_SHA}", "--allow-data-mismatch")
    assert not (tmp_path / "b" / "run.json").exists()
    proc = _run(tmp_path, synthetic_dir, "c", "--allow-data-mismatch")
    assert proc.returncode == 0, proc.stderr
    assert f"has sha256 {got}, expected {MEQSUM_SHA}; running on it" in proc.stderr
    record = json.loads((tmp_path / "c" / "run.json").read_text())["data_files"]
    assert record["allow_mismatch"] is True and record["mismatches"] == [MEQSUM]
    assert record["files"][MEQSUM]["check"].startswith("MISMATCH") and record["files"][MEQSUM]["expected"] == MEQSUM_SHA


def test_a_hash_recorded_on_first_fetch_is_enforced(tmp_path: Path, synthetic_dir: Path) -> None:
    lh = synthetic_dir / "longhealth" / "benchmark_v5.json"
    (synthetic_dir / LOCK).write_text(json.dumps({"files": {"longhealth/benchmark_v5.json": {"sha256": "0" * 64, "source": "test"}}}))
    (synthetic_dir / MEQSUM).unlink()  # only LongHealth's recorded hash is in play
    proc = run_clue("run", "--engine", "baseline", "--tasks", "longhealth", "--data-dir", str(synthetic_dir), "--out",
                    str(tmp_path / "d"), "--store", str(tmp_path / "s.sqlite"), "--no-progress")
    assert_one_line_error(proc, str(lh), f"sha256 {hashlib.sha256(lh.read_bytes()).hexdigest()}", f"expected {'0' * 64}")
