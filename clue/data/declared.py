"""The data sources the data commands work on: the default benchmark's declarations
(`Benchmark.data_sources`: SOURCES, BUILT, KNOWN_SHA256, PHYSIONET_HOST, physionet_base, DataFile)."""

from __future__ import annotations

from typing import Any

from clue.errors import ConfigError


def sources(benchmark: str | None = None) -> Any:
    from clue.benchmark import resolve

    bench = resolve(benchmark)
    if bench.data_sources is None:
        raise ConfigError(f"the {bench.name} benchmark declares no data sources", "get its data as its README says")
    return bench.data_sources
