"""No import cycles in clue/: none between two modules (imports under TYPE_CHECKING and deferred imports inside
functions count too), and none between folders, each direct sub-folder of clue/ drawn as one module (report/ may
import ratings/, never both ways). The graph is grimp's, the library import-linter runs on; the checks are proven
to fail on small packages written with a cycle."""

from __future__ import annotations

import textwrap
from pathlib import Path

import grimp
import pytest


def find_cycles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """Every import cycle, as the modules along it, starting from its alphabetically first one (one entry per cycle
    through a direct import: for each import a → b, the shortest way back from b to a)."""
    found: set[tuple[str, ...]] = set()
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer) - {importer}:  # a squashed folder's inner imports
            back = graph.find_shortest_chain(importer=imported, imported=importer, as_packages=False)
            if back is not None:
                cycle = (importer, *back[:-1])
                start = cycle.index(min(cycle))
                found.add(cycle[start:] + cycle[:start])
    return sorted(found)


def build(package: str, *, folders: bool = False) -> grimp.ImportGraph:
    """The import graph of `package`; with `folders`, each direct sub-package squashed into one module."""
    graph = grimp.build_graph(package, cache_dir=None)
    if folders:
        for child in sorted(graph.find_children(package)):
            if graph.find_children(child):
                graph.squash_module(child)
    return graph


def test_clue_has_no_module_cycles():
    cycles = find_cycles(build("clue"))
    assert cycles == [], "import cycles (break them: move the shared piece to a module both import):\n" + "\n".join(
        " → ".join((*c, c[0])) for c in cycles)


def test_clue_has_no_folder_cycles():
    cycles = find_cycles(build("clue", folders=True))
    assert cycles == [], "folders that import each other:\n" + "\n".join(" → ".join((*c, c[0])) for c in cycles)


def _package(root: Path, name: str, files: dict[str, str]) -> None:
    for rel, text in {"__init__.py": "", **files}.items():
        path = root / name / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


@pytest.fixture
def synthetic(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_the_check_finds_a_three_module_cycle_and_a_type_checking_one(synthetic):
    _package(synthetic, "cyc_demo", {
        "a.py": "from cyc_demo import b\n",
        "b.py": "def f():\n    from cyc_demo import c\n",  # deferred import: still an edge
        "c.py": "import cyc_demo.a\n",
        "d.py": "from cyc_demo import a\n",  # into the cycle, not part of it
        "x.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from cyc_demo.y import Y\n",
        "y.py": "from cyc_demo.x import *\nclass Y: ...\n",
        "z.py": "from cyc_demo import d\n",  # acyclic
    })
    assert find_cycles(build("cyc_demo")) == [("cyc_demo.a", "cyc_demo.b", "cyc_demo.c"), ("cyc_demo.x", "cyc_demo.y")]


def test_the_check_finds_folders_that_import_each_other(synthetic):
    """No two modules form a cycle, but the folders do: report/html imports ratings/table, ratings/cli imports report/load."""
    _package(synthetic, "fold_demo", {
        "report/__init__.py": "", "report/html.py": "from fold_demo.ratings import table\n", "report/load.py": "",
        "ratings/__init__.py": "", "ratings/table.py": "", "ratings/cli.py": "from fold_demo.report import load\n",
        "top.py": "from fold_demo.report import html\n",
    })
    assert find_cycles(build("fold_demo")) == []
    assert find_cycles(build("fold_demo", folders=True)) == [("fold_demo.ratings", "fold_demo.report")]


def test_an_acyclic_package_passes(synthetic):
    _package(synthetic, "dag_demo", {"a.py": "from dag_demo import b, c\n", "b.py": "from dag_demo import c\n", "c.py": ""})
    assert find_cycles(build("dag_demo")) == [] and find_cycles(build("dag_demo", folders=True)) == []
