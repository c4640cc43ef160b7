"""The data sources the data commands work on: the default benchmark's declarations
(`Benchmark.data_sources`: SOURCES, BUILT, KNOWN_SHA256, PHYSIONET_HOST, physionet_base, DataFile)."""

from __future__ import annotations

from typing import Any, Iterable

from clue.errors import ConfigError


def sources(benchmark: str | None = None, tasks: Iterable[str] = ()) -> Any:
    """`benchmark`'s declarations, else those of the benchmark owning `tasks`, else the default one's."""
    from clue.benchmark import resolve

    bench = resolve(benchmark, ",".join(tasks))
    if bench.data_sources is None:
        raise ConfigError(f"the {bench.name} benchmark declares no data sources", "get its data as its README says")
    return bench.data_sources
