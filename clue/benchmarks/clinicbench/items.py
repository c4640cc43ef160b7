"""The plain, frozen items every ClinicBench loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping


@dataclass(frozen=True)
class Item:
    """One evaluated (or exemplar) item: its id, the prompt fields, the reference answer, its split."""

    id: str
    fields: Mapping[str, Any]
    reference: Any
    split: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))


@dataclass(frozen=True)
class Loaded:
    """A dataset as loaded: the evaluated items and, where the dataset has one, its exemplar pool
    (train/dev items; empty when the dataset has none — then each item's exemplars come from the other test items)."""

    items: tuple[Item, ...]
    pool: tuple[Item, ...] = field(default=())
    note: str = ""
