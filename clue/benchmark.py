"""Benchmarks as a level of their own: one small declared object each, and a registry.

A benchmark is one folder under `clue/benchmarks/` (or any installed package) that builds a
`Benchmark` and names it in the `clue_kit.benchmarks` entry-point group of its pyproject.toml:

    [project.entry-points."clue_kit.benchmarks"]
    clue = "clue.benchmarks.clue:BENCHMARK"

The core finds benchmarks only through that group (or `register_benchmark`, for tests and
notebooks) and never imports `clue.benchmarks` (an import-linter contract in `make test`), so adding
a benchmark touches no core file. What the core reads from a benchmark is declared here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol, Sequence

from clue.data.sources import Builder, DataFile
from clue.errors import ConfigError
from clue.protocol import RunProtocol
from clue.tasks.base import Task

ENTRY_POINT_GROUP = "clue_kit.benchmarks"


class Scoring(Protocol):
    """How task scores and group averages are formed (CLUE: clue/benchmarks/clue/published/rule.py)."""

    TASK_METRICS: Mapping[str, tuple[str, ...]]  # task title -> the metrics its task score averages
    LEVELS: Mapping[str, tuple[str, ...]]  # group id -> task titles (CLUE: its two Levels)
    LEVEL_TITLES: Mapping[str, str]  # group id -> display title
    TASK_ORDER: tuple[str, ...]  # task titles in report order
    BINARY_METRICS: frozenset[str]  # per-sample 0/100 metrics (McNemar, not bootstrap)

    def task_score(self, title: str, metrics: Mapping[str, float | None]) -> float | None: ...

    def partial_task_score(self, title: str, metrics: Mapping[str, float | None]) -> tuple[float | None, tuple[str, ...]]: ...

    def level_score(self, level: str, task_scores: Mapping[str, float | None]) -> float | None: ...


@dataclass(frozen=True)
class Benchmark:
    """Everything the kit needs to know about one benchmark. Only `name`, `title`, `tasks` and
    `protocols` are required; a benchmark without published numbers leaves `published` None."""

    name: str  # `--benchmark NAME`, recorded in scores.json / run.json / results.csv
    title: str
    tasks: Mapping[str, Task]  # task name -> task (names unique within the benchmark)
    protocols: Mapping[str, RunProtocol]  # protocol name -> protocol
    default_protocol: str  # used when --protocol is not given
    engine_protocols: Mapping[str, str] = field(default_factory=dict)  # server kind (tgi/vllm) -> default protocol
    reference_protocol: str | None = None  # the protocol published numbers were made with (verify, report)
    scoring: Scoring | None = None  # task scores and group averages (None: plain per-metric means only)
    published: Any = None  # published numbers: module/object with table(), match_model(), find_model(), values()
    report_text: Mapping[str, str] = field(default_factory=dict)  # e.g. {"groups": "Level 1 = …"}
    roster: Path | None = None  # roster YAML of the benchmark's models
    data: tuple[DataFile, ...] = ()  # every file its tasks read, train/dev included (clue data fetch/status, clue run's check)
    builders: tuple[Builder, ...] = ()  # `clue data build NAME`, each with its own options
    synthetic: Callable[[Path], Path] | None = None  # writes bundled synthetic samples into a data dir
    protocol_docs: Callable[[], Mapping[str, str]] | None = None  # switch -> documentation (`clue protocols --show`)
    task_table: Callable[[], str] | None = None  # its own `clue tasks` listing (e.g. with datasets it cannot run)
    default: bool = False  # the benchmark commands use without --benchmark when several are installed (at most one)

    def get_tasks(self, spec: str) -> list[Task]:
        """Parse a comma-separated task list; `all` = every task of this benchmark."""
        names = list(self.tasks) if spec.strip() == "all" else [n.strip().lower() for n in spec.split(",") if n.strip()]
        unknown = [n for n in names if n not in self.tasks]
        if unknown or not names:
            raise ConfigError(f"unknown task(s): {', '.join(unknown) or '(none given)'} ({self.name})",
                              f"choose from: {', '.join(self.tasks)} or all")
        return [self.tasks[n] for n in names]

    def get_protocol(self, name: str | None) -> RunProtocol:
        name = name or self.default_protocol
        try:
            return self.protocols[name]
        except KeyError:
            raise ConfigError(f"unknown protocol {name!r} ({self.name})",
                              f"choose one of: {', '.join(self.protocols)} (see `clue protocols --benchmark {self.name}`)") from None


_REGISTERED: dict[str, Benchmark] = {}


def register_benchmark(benchmark: Benchmark) -> Benchmark:
    """Register a benchmark without an entry point (tests, notebooks); returns it."""
    _REGISTERED[benchmark.name] = benchmark
    return benchmark


def unregister_benchmark(name: str) -> None:
    _REGISTERED.pop(name, None)


@lru_cache(maxsize=1)
def installed() -> dict[str, Benchmark]:
    """The benchmarks named in the `clue_kit.benchmarks` entry-point group of installed packages."""
    out: dict[str, Benchmark] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        bench = ep.load()
        if not isinstance(bench, Benchmark):
            raise ConfigError(f"entry point {ep.name} = {ep.value} is not a clue.benchmark.Benchmark", "fix that package")
        out[bench.name] = bench
    return out


def benchmarks() -> dict[str, Benchmark]:
    return {**installed(), **_REGISTERED}


def get_benchmark(name: str) -> Benchmark:
    known = benchmarks()
    try:
        return known[name]
    except KeyError:
        raise ConfigError(f"unknown benchmark {name!r}",
                          f"choose one of: {', '.join(known) or '(none installed: reinstall clue-kit)'}") from None


def default_benchmark() -> Benchmark:
    """The only installed benchmark, else the one installed benchmark that declares itself the default."""
    found = installed()
    if len(found) == 1:
        return next(iter(found.values()))
    if not found:
        raise ConfigError("no benchmark is installed", "reinstall clue-kit: pip install -e . (its entry points name them)")
    marked = [b for b in found.values() if b.default]
    if len(marked) == 1:
        return marked[0]
    raise ConfigError(f"several benchmarks are installed ({', '.join(found)})", "pass --benchmark NAME")


def resolve(name: str | None, task_spec: str | None = None) -> Benchmark:
    """`--benchmark NAME`, else the benchmark that owns the named tasks, else the default one."""
    if name:
        return get_benchmark(name)
    names = [n.strip().lower() for n in (task_spec or "").split(",") if n.strip() and n.strip() != "all"]
    if names:
        owners = [b for b in benchmarks().values() if all(n in b.tasks for n in names)]
        if len(owners) == 1:
            return owners[0]
    return default_benchmark()


def for_run(scores: Mapping[str, Any]) -> Benchmark | None:
    """The benchmark of a finished run: its recorded `benchmark`, else (runs made before it was recorded)
    the benchmark owning its tasks; None when unknown."""
    name = scores.get("benchmark")
    if name:
        return benchmarks().get(str(name))
    tasks: Sequence[str] = list((scores.get("tasks") or {}).keys())
    owners = [b for b in benchmarks().values() if tasks and all(t in b.tasks for t in tasks)]
    owners.sort(key=lambda b: b.name not in installed())  # an installed benchmark before a test-registered one
    return owners[0] if owners else None
