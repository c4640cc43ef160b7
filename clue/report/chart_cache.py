"""The report's charts kept beside it (`<out>/charts-kept.json`), so a re-report redraws only the charts whose data
changed (matplotlib is most of a warm re-report's CPU: 16 per-dataset charts and a scatter of every run).

A chart is kept under the sha256 of what it is drawn from: the drawing function's name, the repr of its arguments
(frozen dataclasses, dicts, floats written exactly), and the code that draws it (the source of clue/report/charts.py
and forest.py, the matplotlib and adjustText versions) — any change to one of them is another key, so a kept chart is
always the SVG the function would draw now (it draws deterministically: fixed hash salt, no dates). `build_report`
reads the file, draws inside `keeping(...)`, and writes back the charts this report used (so the file never grows
past one report's charts). Outside `keeping` (tests, other callers) every chart is drawn.

The forest plots of paired comparisons are not kept here: they are kept with their comparison beside its first run
(clue/report/kept_pairs.py), and a chart kept in two places would make this file depend on which of them a report
read from (the same report, a different charts-kept.json).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import json
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from markupsafe import Markup

NAME = "charts-kept.json"  # plain JSON, not compressed: the kit's leak tests search every file it writes
LAYOUT = 1  # bump when what is stored changes

_STORE: contextvars.ContextVar[tuple[dict[str, str], dict[str, str]] | None] = contextvars.ContextVar("chart_store", default=None)
F = TypeVar("F", bound=Callable[..., Markup])


@functools.cache
def _code() -> str:
    from importlib.metadata import version  # not `import adjustText`: it imports scipy (~0.2 s) for nothing kept

    h = hashlib.sha256(f"{LAYOUT} {version('matplotlib')} {version('adjustText')}".encode())
    here = Path(__file__).parent
    for name in ("charts.py", "forest.py", "chart_cache.py"):
        h.update((here / name).read_bytes())
    return h.hexdigest()


def key(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    text = repr((name, args, sorted(kwargs.items()), _code()))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def kept(fn: F) -> F:
    """`fn`'s chart taken from the kept ones where its key is there (inside `keeping`), else drawn and kept."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Markup:
        store = _STORE.get()
        if store is None:
            return fn(*args, **kwargs)
        old, used = store
        k = key(fn.__qualname__, args, kwargs)
        svg = used.get(k)
        if svg is None:
            svg = old[k] if k in old else str(fn(*args, **kwargs))
            used[k] = svg
        return Markup(svg)
    return wrapper  # type: ignore[return-value]


def read(folder: Path) -> dict[str, str]:
    """The charts kept in `folder` by the last report; none where the file is missing, damaged or of another layout."""
    try:
        doc = json.loads((folder / NAME).read_bytes())
    except (OSError, ValueError):
        return {}
    charts = doc.get("charts") if isinstance(doc, dict) and doc.get("layout") == LAYOUT else None
    return {k: v for k, v in charts.items() if isinstance(v, str)} if isinstance(charts, dict) else {}


def dump(charts: dict[str, str]) -> bytes:
    return json.dumps({"layout": LAYOUT, "charts": charts}, sort_keys=True).encode("utf-8")


@contextlib.contextmanager
def keeping(old: dict[str, str]) -> Iterator[dict[str, str]]:
    """Charts drawn inside come from `old` where kept; yields the charts used (to write back)."""
    used: dict[str, str] = {}
    token = _STORE.set((old, used))
    try:
        yield used
    finally:
        _STORE.reset(token)
