"""`clue verify`: does a run reproduce the published CLUE v3 numbers? A verdict a reviewer can defend.

For each (model, task, metric) the run reports, plus every task score and Level average:
reproduced value, its 95 % bootstrap CI, the published value (with its source tag), the delta
(reproduced − published) and a verdict:

* `reproduced` — the published value lies inside the CI widened by ±tolerance (percent points;
  default 1.0, which also absorbs the published numbers' two-decimal rounding);
* `deviates` — outside it, with the direction of the run (`higher` / `lower`);
* `no reference` — nothing published for this model/task/metric (or the model is unknown);
* `not computed` — published, but the run lacks the metric (an optional stack was not installed)
  or, for aggregates, lacks one of the listed metrics, so a comparison would be meaningless.

Published task scores are not printed in the paper; they are derived from the published
per-metric numbers with the same rule (clue/published/rule.py) and tagged `<source>+rule`.
The exit status of the command is 1 when anything deviates (usable in CI), else 0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping, Sequence

from clue import published
from clue.published.rule import LEVELS, TASK_METRICS, TASK_ORDER, task_score
from clue.stats import DEFAULT_REPLICATES, DEFAULT_SEED, Interval, RunIntervals, run_intervals

DEFAULT_TOLERANCE = 1.0
REFERENCE_PROTOCOL = "clue-v3"
VERDICTS = ("reproduced", "deviates", "no reference", "not computed")


@dataclass(frozen=True)
class Check:
    run: str
    model: str
    published_model: str | None
    protocol: str
    task: str  # paper title, or Level1 / Level2
    metric: str  # metric key; "score" = task score; "avg" = Level average
    reproduced: float | None
    low: float | None
    high: float | None
    published: float | None
    source: str | None
    delta: float | None
    verdict: str
    direction: str | None  # "higher" / "lower" when deviating
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def judge(value: float | None, low: float | None, high: float | None, ref: float | None,
          tolerance: float) -> tuple[str, str | None, float | None]:
    """(verdict, direction, delta) for one reproduced value against one published value."""
    if ref is None:
        return "no reference", None, None
    if value is None:
        return "not computed", None, None
    lo = (low if low is not None else value) - tolerance
    hi = (high if high is not None else value) + tolerance
    delta = value - ref
    if lo <= ref <= hi:
        return "reproduced", None, delta
    return "deviates", ("higher" if ref < lo else "lower"), delta


def _published_for(run: Mapping[str, Any], override: str | None) -> published.PublishedModel | None:
    if override:
        return published.find_model(override)
    return published.match_model(str(run["scores"].get("model", "")))


def _task_order(titles: Iterable[str]) -> list[str]:
    titles = list(titles)
    return [t for t in TASK_ORDER if t in titles] + [t for t in titles if t not in TASK_ORDER]


def verify_run(run: Mapping[str, Any], *, tolerance: float = DEFAULT_TOLERANCE, published_model: str | None = None,
               intervals: RunIntervals | None = None, replicates: int = DEFAULT_REPLICATES,
               seed: int = DEFAULT_SEED) -> list[Check]:
    """Every check of one loaded run (see clue.report.load.load_run)."""
    scores = run["scores"]
    ivs = intervals or run_intervals(scores, run["samples"], replicates=replicates, seed=seed)
    pm = _published_for(run, published_model)
    pub = published.table().get(pm.name, {}) if pm else {}
    protocol = str(scores.get("protocol", "?"))
    base_note = "" if protocol == REFERENCE_PROTOCOL else f"protocol {protocol}; the published numbers are {REFERENCE_PROTOCOL}"
    if (run.get("record") or {}).get("prompts_byte_identical") is False:  # chat route: the server rendered the template
        base_note = "; ".join(x for x in (base_note, "prompts not byte-identical to the protocol's (server-side chat "
                                                     "template; use --route completions)") if x)
    by_title = {t.get("title", n): t for n, t in scores["tasks"].items()}
    checks: list[Check] = []

    def add(task: str, metric: str, iv: Interval | None, ref: published.PublishedValue | None, note: str = "",
            ref_value: float | None = None, ref_source: str | None = None) -> None:
        value = iv.value if iv is not None else None
        rv = ref.value if ref is not None else ref_value
        src = ref.source if ref is not None else ref_source
        comparable = iv is not None and not iv.partial  # a partial aggregate is shown, never judged
        verdict, direction, delta = judge(value if comparable else None, iv.low if iv else None, iv.high if iv else None, rv, tolerance)
        notes = [n for n in (base_note, note, "published value approximate" if ref is not None and ref.approximate else "") if n]
        checks.append(Check(run["name"], str(scores.get("model")), pm.name if pm else None, protocol, task, metric, value,
                            iv.low if iv else None, iv.high if iv else None, rv, src, delta, verdict, direction, "; ".join(notes)))

    for title in _task_order(by_title):
        task = by_title[title]
        pub_task = pub.get(title, {})
        metric_ivs = ivs.metrics.get(title, {})
        listed = TASK_METRICS.get(title, ())
        names = list(listed) + [m for m in task.get("metrics", {}) if m not in listed]
        names += [m for m in pub_task if m not in names]
        skipped = task.get("skipped") or {}
        failed = task.get("n_failed") or 0
        fail_note = f"{failed} failed request(s) not scored" if failed else ""
        for m in names:
            if m not in task.get("metrics", {}) and m not in pub_task:
                continue
            note = f"skipped: {skipped[m]}" if m in skipped else fail_note
            add(title, m, metric_ivs.get(m), pub_task.get(m), note)
        if len(TASK_METRICS.get(title, ())) > 1:  # a one-metric task's score is that metric
            ref_score = task_score(title, {m: v.value for m, v in pub_task.items()})
            src = f"{next(iter(pub_task.values())).source}+rule" if ref_score is not None else None
            iv = ivs.task_scores.get(title)
            note = f"partial: lacks {', '.join(iv.missing)}" if iv is not None and iv.partial else fail_note
            add(title, "score", iv, None, note, ref_score, src)
    for level in LEVELS:
        iv = ivs.levels.get(level)
        ref = pub.get(level, {}).get("avg")
        if iv is None and ref is None:
            continue
        note = ""
        if iv is None:
            note = f"needs {', '.join(t for t in LEVELS[level] if t not in ivs.task_scores)}"
        elif iv.partial:
            note = f"partial: lacks {', '.join(iv.missing)}"
        add(level, "avg", iv, ref, note)
    if pm is None:
        checks = [Check(**{**c.as_dict(), "note": "; ".join(x for x in (c.note, "no published model matches this model id") if x)})
                  for c in checks]
    return checks


def _fmt(v: float | None, width: int = 6) -> str:
    return f"{v:{width}.2f}" if v is not None else f"{'—':>{width}}"


def _short(note: str, limit: int = 90) -> str:
    return note if len(note) <= limit else note[: limit - 1] + "…"


def format_table(checks: Sequence[Check], *, show_all: bool = False) -> str:
    """A compact terminal table, one block per run; `no reference` rows only with show_all."""
    lines: list[str] = []
    runs: dict[str, list[Check]] = {}
    for c in checks:
        runs.setdefault(c.run, []).append(c)
    for name, cs in runs.items():
        first = cs[0]
        target = first.published_model or "no published model"
        lines.append(f"{name}: {first.model} ↔ {target} (protocol {first.protocol})")
        lines.append(f"  {'task':<15}{'metric':<13}{'reproduced':>11} {'95% CI':<17}{'published':>9}{'Δ':>8}  verdict")
        hidden = 0
        for c in cs:
            if c.verdict == "no reference" and not show_all:
                hidden += 1
                continue
            ci = f"[{_fmt(c.low, 0)}, {_fmt(c.high, 0)}]" if c.low is not None else ""
            verdict = c.verdict + (f" ({c.direction})" if c.direction else "")
            delta = f"{c.delta:+8.2f}" if c.delta is not None else f"{'—':>8}"
            note = f"  [{_short(c.note)}]" if c.note and c.verdict != "reproduced" else ""
            lines.append(f"  {c.task:<15}{c.metric:<13}{_fmt(c.reproduced, 11)} {ci:<17}{_fmt(c.published, 9)}{delta}  {verdict}{note}")
        if hidden:
            lines.append(f"  (+{hidden} check(s) with no published reference; --all lists them)")
    counts = {v: sum(1 for c in checks if c.verdict == v) for v in VERDICTS}
    lines.append(", ".join(f"{n} {v}" for v, n in counts.items()))
    return "\n".join(lines)


def any_deviates(checks: Sequence[Check]) -> bool:
    return any(c.verdict == "deviates" for c in checks)
