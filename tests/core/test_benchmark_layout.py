"""Every installed benchmark folder has the same parts under the same names, so a third benchmark copied from
either folder gets the same shape (issue 27; architecture-review.md §1.4 "The two benchmark folders name the same
parts differently").

The parts: `README.md` (the benchmark card; its module table names every part below), `__init__.py`, `protocol.py`,
`rule.py` (defines `RULE`), `baselines.py`, `sources.py` (defines `DATA`), `published/` (a package defining
`PUBLISHED`), `prompts/` (`<task>/*.j2`), the tasks (`tasks/` package or `tasks.py`) and `synthetic/` (a package
whose `materialize` writes the bundled data). Checked from the files (names found by parsing, nothing imported), so
the check also runs on a fake folder: the tmp_path tests below build a complete one and take each part away.
"""

from __future__ import annotations

import ast
import importlib.util
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from clue.benchmark import ENTRY_POINT_GROUP

MODULES = ("__init__.py", "protocol.py", "rule.py", "baselines.py", "sources.py")
DEFINES = {"rule.py": "RULE", "sources.py": "DATA", "published/__init__.py": "PUBLISHED", "synthetic/__init__.py": "materialize"}
README_NAMES = ("protocol.py", "rule.py", "baselines.py", "sources.py", "published/", "prompts/", "synthetic/", "tasks")


def _defines(path: Path, name: str) -> bool:
    """`name` is bound at the module's top level (assignment, annotated assignment, def or import)."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        targets: list[str] = []
        if isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            targets = [node.target.id]
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            targets = [node.name]
        elif isinstance(node, ast.ImportFrom):
            targets = [a.asname or a.name for a in node.names]
        if name in targets:
            return True
    return False


def missing_parts(folder: Path) -> list[str]:
    """What `folder` lacks of the common benchmark layout, one line per missing part ([] = complete)."""
    missing = [f"{m} (file)" for m in MODULES if not (folder / m).is_file()]
    for package in ("published", "synthetic"):
        if not (folder / package / "__init__.py").is_file():
            missing.append(f"{package}/ (a package: {package}/__init__.py)")
    if not any((folder / "prompts").glob("*/*.j2")):
        missing.append("prompts/ (prompts/<task>/*.j2)")
    if not ((folder / "tasks.py").is_file() or (folder / "tasks" / "__init__.py").is_file()):
        missing.append("tasks (tasks.py or a tasks/ package)")
    for rel, name in DEFINES.items():
        if (folder / rel).is_file() and not _defines(folder / rel, name):
            missing.append(f"{rel} defines no {name}")
    readme = folder / "README.md"
    if not readme.is_file():
        missing.append("README.md (the benchmark card)")
    else:
        text = readme.read_text(encoding="utf-8")
        missing += [f"README.md does not name {part}" for part in README_NAMES if f"`{part}" not in text]
    return missing


def installed_folders() -> dict[str, Path]:
    """Folder of every benchmark named in the entry-point group (found without importing it)."""
    out = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        spec = importlib.util.find_spec(ep.module)
        assert spec is not None and spec.submodule_search_locations, f"{ep.value} is not a package folder"
        out[ep.name] = Path(next(iter(spec.submodule_search_locations)))
    return out


def test_both_shipped_benchmarks_are_checked():
    assert {"clue", "clinicbench"} <= set(installed_folders())  # the check below never passes on an empty list


@pytest.mark.parametrize("name", sorted(installed_folders()))
def test_every_installed_benchmark_has_the_common_layout(name):
    assert missing_parts(installed_folders()[name]) == []


# --- the check itself, on fake folders -------------------------------------------------------------------------

def _complete(root: Path, tasks: str = "tasks.py") -> Path:
    """A fake benchmark folder with every part (contents reduced to what the check reads)."""
    root.mkdir()
    for m in MODULES:
        (root / m).write_text('"""x"""\n')
    (root / "rule.py").write_text("RULE = None\n")
    (root / "sources.py").write_text("DATA: tuple = ()\n")
    for package, text in (("published", "PUBLISHED = None\n"), ("synthetic", "def materialize(data_dir):\n    return data_dir\n")):
        (root / package).mkdir()
        (root / package / "__init__.py").write_text(text)
    (root / "prompts" / "task-a").mkdir(parents=True)
    (root / "prompts" / "task-a" / "user.j2").write_text("{{ question }}\n")
    if tasks == "tasks.py":
        (root / "tasks.py").write_text("TASKS = {}\n")
    else:
        (root / "tasks").mkdir()
        (root / "tasks" / "__init__.py").write_text("TASKS = {}\n")
    (root / "README.md").write_text("| `tasks.py` | `protocol.py`, `rule.py` | `baselines.py` | `sources.py` | `published/` | "
                                    "`prompts/<task>/` | `synthetic/` |\n")
    return root


@pytest.mark.parametrize("tasks", ["tasks.py", "tasks/"])
def test_a_complete_fake_folder_passes(tmp_path, tasks):
    assert missing_parts(_complete(tmp_path / "fake", tasks)) == []


REMOVALS = {  # what is taken away → the line that must name it
    "README.md": "README.md (the benchmark card)",
    "protocol.py": "protocol.py (file)",
    "rule.py": "rule.py (file)",
    "baselines.py": "baselines.py (file)",
    "sources.py": "sources.py (file)",
    "__init__.py": "__init__.py (file)",
    "published/__init__.py": "published/ (a package: published/__init__.py)",
    "synthetic/__init__.py": "synthetic/ (a package: synthetic/__init__.py)",
    "prompts/task-a/user.j2": "prompts/ (prompts/<task>/*.j2)",
    "tasks.py": "tasks (tasks.py or a tasks/ package)",
}


@pytest.mark.parametrize("part", sorted(REMOVALS))
def test_a_fake_folder_missing_one_part_fails_naming_it(tmp_path, part):
    folder = _complete(tmp_path / "fake")
    (folder / part).unlink()
    assert missing_parts(folder) == [REMOVALS[part]]


def test_the_old_names_do_not_count(tmp_path):
    """CLUE's and ClinicBench's former names for the same parts are not accepted in their place."""
    folder = _complete(tmp_path / "fake")
    for new, old in (("protocol.py", "profile.py"), ("baselines.py", "baseline_rules.py")):
        (folder / new).rename(folder / old)
    (folder / "rule.py").rename(folder / "published" / "rule.py")
    (folder / "synthetic" / "__init__.py").rename(folder / "bundled.py")
    assert missing_parts(folder) == ["protocol.py (file)", "rule.py (file)", "baselines.py (file)",
                                     "synthetic/ (a package: synthetic/__init__.py)"]


def test_a_part_without_its_name_and_a_readme_that_skips_a_part_fail(tmp_path):
    folder = _complete(tmp_path / "fake")
    (folder / "rule.py").write_text("RULES = None  # not RULE\n")
    (folder / "synthetic" / "__init__.py").write_text("def write(data_dir):\n    return data_dir\n")
    readme = folder / "README.md"
    readme.write_text(readme.read_text().replace("`baselines.py` |", ""))
    assert missing_parts(folder) == ["rule.py defines no RULE", "synthetic/__init__.py defines no materialize",
                                     "README.md does not name baselines.py"]
