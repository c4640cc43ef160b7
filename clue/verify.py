"""`clue verify`: does a run reproduce its benchmark's published numbers (CLUE: v3)? A verdict a reviewer can defend.

For each (model, task, metric) the run reports, plus every task score and group average:
reproduced value, its 95 % bootstrap CI, the published value (with its source tag), the delta
(reproduced − published) and a verdict by the generic rule in clue/verdict.py:

* `reproduced` — the whole CI lies within published ± margin (equivalence test; default margin 3.0);
* `deviates` — the published value lies outside the CI, with the direction of the run (`higher` / `lower`);
* `inconclusive` — neither; with the smallest detectable deviation and ~items a decisive run needs.
  Subset (--limit) and synthetic runs are never `reproduced` (synthetic never `deviates` either);
* `no reference` — nothing published for this model/task/metric in the run's setting (or the model is
  unknown). The setting of a task is `zero-shot` or `k-shot` from the exemplars it used (`n_shots`), or
  `protocol` where that is the k its benchmark's protocol fixes (CLUE's published numbers); a value of
  another setting is never used — the note says "no reference for 3-shot (published: zero-shot)";
* `not computed` — published, but the run lacks the metric (an optional stack was not installed)
  or, for aggregates, lacks one of the listed metrics, so a comparison would be meaningless.

Published task scores are not printed in the paper; they are derived from the published
per-metric numbers with the benchmark's `ScoreRule` (clue/score_rule.py) and tagged `<source>+rule`.
Exit status (clue/verdict.py): 0 all reproduced, 1 something deviates, 4 otherwise (inconclusive).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Iterable, Mapping, Sequence

from clue import verdict as equivalence
from clue.benchmark import Benchmark
from clue.published import Published, PublishedModel, PublishedValue, task_settings, task_values
from clue.rundir import edited_titles, scope_of
from clue.score_rule import PLAIN
from clue.stats import DEFAULT_REPLICATES, DEFAULT_SEED, Interval, RunIntervals, run_intervals

DEFAULT_TOLERANCE = equivalence.DEFAULT_MARGIN  # the equivalence margin (name kept for callers)
VERDICTS = ("reproduced", "deviates", "inconclusive", "no reference", "not computed")


@dataclass(frozen=True)
class Check:
    run: str
    model: str
    published_model: str | None
    protocol: str
    task: str  # task title, or a group id of the benchmark's scoring rule
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
    n: int = 0  # resampling units (items or clusters) behind the CI
    mdd: float | None = None  # smallest deviation this run could detect (80 % power)
    items_needed: int | None = None  # ~ items for a decisive verdict
    setting: str = ""  # the run's setting the published value is looked up under (zero-shot, k-shot, protocol)
    edited: bool = False  # rests on results edited after the run (--accept-edited; clue/rundir.py `integrity`)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def judge(value: float | None, low: float | None, high: float | None, ref: float | None, tolerance: float, *,
          n: int = equivalence.MIN_ITEMS, subset: bool = False, synthetic: bool = False) -> tuple[str, str | None, float | None]:
    """(verdict, direction, delta) for one reproduced value against one published value (see clue.verdict)."""
    return _outcome(judgement(value, low, high, ref, tolerance, n=n, subset=subset, synthetic=synthetic), ref)


def _outcome(v: equivalence.Verdict | None, ref: float | None) -> tuple[str, str | None, float | None]:
    """(verdict, direction, delta) of a judgement; without one, why there is none."""
    return (v.outcome, v.direction, v.delta) if v is not None else ("no reference" if ref is None else "not computed", None, None)


def judgement(value: float | None, low: float | None, high: float | None, ref: float | None, margin: float, *,
              n: int, subset: bool, synthetic: bool) -> equivalence.Verdict | None:
    if ref is None or value is None:
        return None
    return equivalence.judge(value, low, high, ref, margin=margin, n=n, subset=subset, synthetic=synthetic)


def _published_model(bench: Benchmark | None, run: Mapping[str, Any], override: str | None) -> PublishedModel | None:
    """The published model a run is compared with (via its benchmark's published table), or None."""
    published = bench.published if bench is not None else None
    if published is None:
        return None
    if override:
        return published.find_model(override)
    return published.match_model(str(run["scores"].get("model", "")))


def _task_order(titles: Iterable[str], order: Sequence[str]) -> list[str]:
    titles = list(titles)
    return [t for t in order if t in titles] + [t for t in titles if t not in order]


def task_shots(scores: Mapping[str, Any], task: Mapping[str, Any], protocol_k: int | None = None) -> int:
    """The exemplars a run's task used: its `n_shots`, else the run's `shots`; a run recorded before either followed
    its protocol (`protocol_k`, the task's k), else it is taken as zero-shot."""
    for v in (task.get("n_shots"), scores.get("shots")):
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    return protocol_k if protocol_k is not None else 0


def prompts_note(record: Mapping[str, Any]) -> str:
    """Why prompts may differ from the protocol's bytes: only where a server rendered them (a chat route)."""
    if record.get("prompts_byte_identical") is False and record.get("route"):
        return "prompts not byte-identical to the protocol's (server-side chat template; use --route completions)"
    return ""


class _Reference:
    """The published values of one model, looked up by the run's setting (never another setting's)."""

    def __init__(self, published: Published | None, pm: PublishedModel | None) -> None:
        self.published, self.pm = published, pm
        self.tables: dict[str, dict[str, dict[str, PublishedValue]]] = {}

    def table(self, setting: str) -> dict[str, dict[str, PublishedValue]]:
        if self.published is None or self.pm is None:
            return {}
        if setting not in self.tables:
            self.tables[setting] = self.published.table(setting).get(self.pm.name, {})
        return self.tables[setting]

    def pick(self, settings: Sequence[str], find: Any) -> tuple[str | None, Any]:
        """(the first of `settings` under which `find(table)` is non-empty, what it found)."""
        for setting in settings:
            found = find(self.table(setting))
            if found:
                return setting, found
        return None, None

    def elsewhere(self, keys: Iterable[str], shown: str) -> str:
        """A note when this model has values for `keys` only under other settings than the run's."""
        if self.published is None or self.pm is None:
            return ""
        wanted = set(keys)
        others = [s for s in self.published.settings()
                  if s != shown and any(v.task in wanted and v.model == self.pm.name and v.setting == s for v in self.published.values)]
        return f"no reference for {shown} (published: {', '.join(others)})" if others else ""


def verify_run(bench: Benchmark | None, run: Mapping[str, Any], *, tolerance: float = DEFAULT_TOLERANCE,
               published_model: str | None = None, intervals: RunIntervals | None = None,
               replicates: int = DEFAULT_REPLICATES, seed: int = DEFAULT_SEED) -> list[Check]:
    """Every check of one loaded run (see clue.report.load.load_run) of benchmark `bench` (None: unknown)."""
    scores = run["scores"]
    ivs = intervals or run_intervals(bench, scores, run["samples"], replicates=replicates, seed=seed)
    rule = bench.score_rule if bench is not None else PLAIN
    pm = _published_model(bench, run, published_model)
    ref = _Reference(bench.published if bench is not None else None, pm)
    protocol = str(scores.get("protocol", "?"))
    reference = bench.reference_protocol if bench is not None else None
    base_note = "" if protocol == reference or reference is None else f"protocol {protocol}; the published numbers are {reference}"
    base_note = "; ".join(x for x in (base_note, prompts_note(run.get("record") or {})) if x)
    names = {t.get("title", n): n for n, t in scores["tasks"].items()}
    by_title = {title: scores["tasks"][n] for title, n in names.items()}
    settings_of: dict[str, tuple[str, ...]] = {}
    for title, n in names.items():
        task_obj = bench.tasks.get(n) if bench is not None else None
        k = getattr(task_obj, "k", None)
        settings_of[title] = task_settings(task_shots(scores, by_title[title], k), k)
    sc = scope_of(run)
    synthetic, subset_tasks = bool(sc["synthetic"]), dict(sc["subset"])
    group_members = {g.id: g.members for g in rule.groups}
    checks: list[Check] = []

    def add(task: str, metric: str, setting: str, iv: Interval | None, pv: PublishedValue | None, note: str = "",
            ref_value: float | None = None, ref_source: str | None = None) -> None:
        value = iv.value if iv is not None else None
        rv = pv.value if pv is not None else ref_value
        src = pv.source if pv is not None else ref_source
        comparable = iv is not None and not iv.partial  # a partial aggregate is shown, never judged
        members = group_members.get(task, (task,))
        subset = any(t in subset_tasks for t in members)
        units = (iv.clusters or iv.n) if iv is not None else 0
        v = judgement(value if comparable else None, iv.low if iv else None, iv.high if iv else None, rv, tolerance,
                      n=units, subset=subset, synthetic=synthetic)
        verdict, direction, delta = _outcome(v, rv)
        scope_note = "synthetic data: not the benchmark's items, not comparable" if synthetic else ""
        if subset:
            parts = [f"{t} {subset_tasks[t][0]} of {subset_tasks[t][1] or '?'}" for t in members if t in subset_tasks]
            scope_note = "; ".join(x for x in (scope_note, "subset: " + ", ".join(parts) + " items") if x)
        why = v.reason if v is not None and v.outcome != "reproduced" and not (synthetic or subset) else ""
        if v is not None and v.outcome == "inconclusive" and v.mdd is not None and not synthetic:
            why = "; ".join(x for x in (why, f"could detect ≥ {v.mdd:.1f} pp" +
                                         (f", ~{v.items_needed} items needed" if v.items_needed else "")) if x)
        notes = [n for n in (scope_note, base_note, note, why,
                             "published value approximate" if pv is not None and pv.approximate else "") if n]
        checks.append(Check(run["name"], str(scores.get("model")), pm.name if pm else None, protocol, task, metric, value,
                            iv.low if iv else None, iv.high if iv else None, rv, src, delta, verdict, direction, "; ".join(notes),
                            units, v.mdd if v else None, v.items_needed if v else None, setting))

    for title in _task_order(by_title, rule.task_order):
        task, name, settings = by_title[title], names[title], settings_of[title]
        used, found = ref.pick(settings, lambda table: task_values(table, title, name))  # noqa: B023
        pub_task: Mapping[str, PublishedValue] = found or {}
        setting = settings[0]  # what the run did (zero-shot / k-shot), whether matched as such or as its protocol's k
        elsewhere = "" if used else ref.elsewhere((title, name), setting)
        metric_ivs = ivs.metrics.get(title, {})
        listed = rule.task_metrics.get(title, ())
        metric_names = list(listed) + [m for m in task.get("metrics", {}) if m not in listed]
        metric_names += [m for m in pub_task if m not in metric_names]
        skipped = task.get("skipped") or {}
        failed = task.get("n_failed") or 0
        fail_note = f"{failed} failed request(s) not scored" if failed else ""
        for m in metric_names:
            if m not in task.get("metrics", {}) and m not in pub_task:
                continue
            note = f"skipped: {skipped[m]}" if m in skipped else fail_note
            add(title, m, setting, metric_ivs.get(m), pub_task.get(m), "; ".join(x for x in (elsewhere, note) if x))
        if len(listed) > 1:  # a one-metric task's score is that metric
            ref_score = rule.task_score(title, {m: v.value for m, v in pub_task.items()})
            src = f"{next(iter(pub_task.values())).source}+rule" if ref_score is not None else None
            iv = ivs.task_scores.get(title)
            note = f"partial: lacks {', '.join(iv.missing)}" if iv is not None and iv.partial else fail_note
            add(title, "score", setting, iv, None, "; ".join(x for x in (elsewhere, note) if x), ref_score, src)
    for group in rule.groups:
        iv = ivs.levels.get(group.id)
        present = [settings_of[t] for t in group.members if t in settings_of]
        common = tuple(s for s in present[0] if all(s in p for p in present[1:])) if present else ()
        used, pv = ref.pick(common, lambda table: table.get(group.id, {}).get("avg"))  # noqa: B023
        if iv is None and pv is None:
            continue
        note = ""
        if iv is None:
            note = f"needs {', '.join(t for t in group.members if t not in ivs.task_scores)}"
        elif iv.partial:
            note = f"partial: lacks {', '.join(iv.missing)}"
        own = list(dict.fromkeys(p[0] for p in present))
        shown = own[0] if len(own) == 1 else "/".join(sorted(own, key=_shots_key))  # e.g. CLUE's Level 1: 3-shot
        elsewhere = "" if pv is not None else ref.elsewhere((group.id,), shown)
        add(group.id, "avg", shown, iv, pv, "; ".join(x for x in (elsewhere, note) if x))
    if pm is None:
        checks = [Check(**{**c.as_dict(), "note": "; ".join(x for x in (c.note, "no published model matches this model id") if x)})
                  for c in checks]
    edited = edited_titles(run)
    if edited:
        checks = [replace(c, edited=True) if edited.intersection(group_members.get(c.task, (c.task,))) else c for c in checks]
    return checks


def _shots_key(setting: str) -> int:
    return int(setting.split("-")[0]) if setting[:1].isdigit() else 0


def _fmt(v: float | None, width: int = 6) -> str:
    return f"{v:{width}.2f}" if v is not None else f"{'—':>{width}}"


def _short(note: str, limit: int = 90) -> str:
    return note if len(note) <= limit else note[: limit - 1] + "…"


def format_table(checks: Sequence[Check], *, show_all: bool = False, margin: float | None = None,
                 scopes: Mapping[str, str] | None = None) -> str:
    """A compact terminal table, one block per run; `no reference` rows only with show_all; the rule's paragraph
    last when `margin` is given; `scopes` (run name → e.g. "SYNTHETIC DATA") marks a run's header."""
    lines: list[str] = []
    runs: dict[str, list[Check]] = {}
    for c in checks:
        runs.setdefault(c.run, []).append(c)
    for name, cs in runs.items():
        first = cs[0]
        target = first.published_model or "no published model"
        mark = f"  [{scopes[name]}]" if scopes and scopes.get(name) else ""
        settings = ", ".join(sorted({c.setting for c in cs if c.setting and "/" not in c.setting}, key=_shots_key))
        lines.append(f"{name}: {first.model} ↔ {target} (protocol {first.protocol}{'; ' + settings if settings else ''}){mark}")
        shown = [c for c in cs if show_all or c.verdict != "no reference"]
        tw = max([13] + [len(c.task) for c in shown]) + 2  # columns as wide as their longest entry
        mw = max([11] + [len(c.metric) for c in shown]) + 2
        lines.append(f"  {'task':<{tw}}{'metric':<{mw}}{'reproduced':>11} {'95% CI':<17}{'published':>9}{'Δ':>8}  verdict")
        for c in shown:
            ci = f"[{_fmt(c.low, 0)}, {_fmt(c.high, 0)}]" if c.low is not None else ""
            verdict = c.verdict + (f" ({c.direction})" if c.direction else "")
            delta = f"{c.delta:+8.2f}" if c.delta is not None else f"{'—':>8}"
            note = f"  [{_short(c.note, 120)}]" if c.note and c.verdict != "reproduced" else ""
            mark = "  EDITED after the run" if c.edited else ""
            lines.append(f"  {c.task:<{tw}}{c.metric:<{mw}}{_fmt(c.reproduced, 11)} {ci:<17}{_fmt(c.published, 9)}{delta}  {verdict}{mark}{note}")
        hidden = len(cs) - len(shown)
        if hidden:
            lines.append(f"  (+{hidden} check(s) with no published reference; --all lists them)")
    counts = {v: sum(1 for c in checks if c.verdict == v) for v in VERDICTS}
    lines.append(", ".join(f"{n} {v}" for v, n in counts.items()))
    if margin is not None:
        lines.append("")
        lines.append(equivalence.rule_text(margin))
    return "\n".join(lines)


def any_deviates(checks: Sequence[Check]) -> bool:
    return any(c.verdict == "deviates" for c in checks)


def exit_status(checks: Sequence[Check]) -> int:
    """0 when every judged check is reproduced (and there is one), 1 when any deviates, 4 otherwise."""
    if any_deviates(checks):
        return equivalence.EXIT_DEVIATES
    judged = [c for c in checks if c.verdict != "no reference"]
    if judged and all(c.verdict == "reproduced" for c in judged):
        return equivalence.EXIT_REPRODUCED
    return equivalence.EXIT_INCONCLUSIVE


def scope_label(run: Mapping[str, Any]) -> str:
    """"SYNTHETIC DATA" / "SUBSET: MedNLI 40 of 1422" / "" for one loaded run."""
    sc = scope_of(run)
    parts = ["SYNTHETIC DATA"] if sc["synthetic"] else []
    if sc["subset"]:
        parts.append("SUBSET (--limit): " + ", ".join(f"{t} {n} of {a or '?'}" for t, (n, a) in sc["subset"].items()))
    return "; ".join(parts)
