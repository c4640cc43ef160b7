"""The two levels: the core never imports a benchmark (import-linter, also run by `make test`), and the
contract's list of core modules covers every core module, so a new one cannot slip past it."""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import clue

ROOT = Path(__file__).resolve().parents[2]
NOT_CORE = {"benchmarks", "perf"}  # the benchmark folders; the performance harness (`make bench`)


def contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def test_every_core_module_is_under_the_contract():
    forbidden = next(c for c in contracts() if c["type"] == "forbidden")
    assert forbidden["forbidden_modules"] == ["clue.benchmarks"]
    core = {f"clue.{m.name}" for m in pkgutil.iter_modules(clue.__path__) if m.name not in NOT_CORE}
    assert core <= set(forbidden["source_modules"]), f"add to [tool.importlinter] source_modules: {sorted(core - set(forbidden['source_modules']))}"


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("lint-imports not installed (pip install -e '.[dev]')")
    return subprocess.run([exe, "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_the_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:]


def test_the_contract_catches_a_core_module_importing_a_benchmark(tmp_path):
    """A copy of the package where stats.py imports CLUE's rule: lint-imports must fail on it."""
    shutil.copytree(ROOT / "clue", tmp_path / "clue", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    stats = tmp_path / "clue" / "stats.py"
    stats.write_text(stats.read_text() + "\nfrom clue.benchmarks.clue.published import rule  # noqa: E402\n")
    result = subprocess.run([shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports", "--no-cache"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert result.returncode != 0 and "clue.stats -> clue.benchmarks" in result.stdout, result.stdout[-2000:]
