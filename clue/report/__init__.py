"""A self-contained HTML report of one or more runs (of one or several benchmarks), next to each benchmark's published numbers.

`build_report(run_dirs, out_dir)` writes `<out_dir>/index.html` (inline CSS, inline matplotlib
SVG, a small inline script allowed by a hash-pinned Content-Security-Policy that forbids every
network fetch) and `<out_dir>/results.csv` (one row per run × task × metric, for pandas).
Model text is escaped by Jinja's autoescape; only our own SVG and script are marked safe.
Modules: load (run directories, redaction), aggregate (what is shown), charts (SVG), cost.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from markupsafe import Markup

from clue.report.load import credentialed_tasks, load_run, load_runs, refuse_edited, refused

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).parent / "templates"


def _pct(v: Any) -> str:
    return "—" if v is None else f"{float(v):.2f}"


def _signed(v: Any) -> str:
    return "—" if v is None else f"{float(v):+.2f}"


def _pvalue(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _human(v: Any, top: bool = True) -> str:
    """A record value as a reader says it: no Python/JSON spellings (None, [], {}, True, escaped newlines)."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_human(x, False) for x in v) if v else "none"
    if isinstance(v, dict):
        if not v:
            return "none"
        parts = [f"{str(k).replace('_', ' ')}: {_human(x, False)}" for k, x in v.items()]
        return "\n".join(parts) if top else "; ".join(parts)
    return str(v)


def _compact(v: Any) -> Markup:
    """`_human`, HTML-escaped, line breaks kept as <br>."""
    from markupsafe import escape

    return Markup("<br>").join(escape(line) for line in _human(v).split("\n"))


def _environment() -> jinja2.Environment:  # jinja2 is imported on use (keeps `clue --help` light)
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.ChainableUndefined,
                             trim_blocks=False, lstrip_blocks=False, bytecode_cache=_compiled_templates())
    from clue.terminal import inert

    env.filters.update(pct=_pct, signed=_signed, pvalue=_pvalue, compact=_compact,
                       inert=lambda v: inert(str(v), newlines=True),  # control characters shown escaped, not passed on
                       pretty=lambda v: json.dumps(v, indent=2, ensure_ascii=False, default=str))
    return env


def _compiled_templates() -> Any:
    """Jinja's own cache of compiled templates (an owner-only folder under the temporary directory, checked by jinja;
    written by rename), so a report process compiles the page's template (~0.4 s) only when it changed. Jinja keys
    it by the template's source and Python's version, not by the environment's options: the file names here carry a
    digest of this module (where those options are set) too. A cache that cannot be read or written is passed over;
    None where jinja finds no safe folder."""
    import jinja2

    class Quiet(jinja2.FileSystemBytecodeCache):
        def load_bytecode(self, bucket: Any) -> None:
            try:
                super().load_bytecode(bucket)
            except (OSError, ValueError, EOFError):
                bucket.reset()

        def dump_bytecode(self, bucket: Any) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:  # a full or read-only temporary folder: compiled again next time
                pass

    tag = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    try:
        return Quiet(pattern=f"__clue_report_{tag}_%s.cache")
    except (OSError, RuntimeError):
        return None


def render_html(view: dict[str, Any]) -> str:
    script = (TEMPLATES / "report.js").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return _environment().get_template("report.html.j2").render(
        **view, css=Markup(css), script=Markup(script), script_hash=f"sha256-{digest}")


def results_csv(rows: list[dict[str, Any]]) -> str:
    fields = ["run", "benchmark", "model", "protocol", "setting", "task", "metric", "value", "ci_low", "ci_high", "n", "partial", "published_model",
              "published", "published_source", "delta", "verdict", "direction", "note", "edited"]
    fh = io.StringIO(newline="")
    writer = csv.DictWriter(fh, fieldnames=fields)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in fields})
    return fh.getvalue()


def _start(run: dict[str, Any], opts: Any) -> None:
    """As each run is loaded: where its CIs are not kept, their bootstrap draws start now (clue/report/summary.py
    `start`), and so does importing the chart libraries — a run whose CIs changed changes charts too."""
    from clue.report import charts, summary

    if refused(run, opts.accept_edited):
        return  # the report stops at it (refuse_edited), before any CI
    try:
        started = summary.start(run, replicates=opts.replicates, seed=opts.seed)
    except Exception:  # a run its CIs cannot be made of: the same error comes again in its turn, as one line
        return
    if started:
        charts.warm_up()


def build_report(run_dirs: Sequence[str | Path], out_dir: str | Path, **options: Any) -> Path:
    """Write index.html and results.csv into `out_dir`; returns the HTML path.

    Options (see `aggregate.ReportOptions`): redact, max_samples, replicates, seed, tolerance,
    prices, compare, published_model.
    """
    from clue.files import ensure_dir, write_folder
    from clue.report import chart_cache
    from clue.report.aggregate import ReportOptions, build_view, results_rows

    opts = ReportOptions(**options)
    out_dir = ensure_dir(Path(out_dir), "--out")  # before any work: a read-only or wrong --out is one line
    runs = load_runs(list(run_dirs), on_loaded=lambda run: _start(run, opts))
    refuse_edited(runs, opts.accept_edited)  # one line, before any work, unless --accept-edited
    with chart_cache.keeping(chart_cache.read(out_dir)) as charts:  # unchanged charts: not redrawn
        view = build_view(runs, opts)
        html = render_html(view)
    # one unit, swapped into place (clue/files.py); owner-only when it shows credentialed text (the rule --redact uses)
    private = not opts.redact and bool(credentialed_tasks({t for r in runs for t in r["samples"].task_names()}))
    write_folder(out_dir, {"index.html": html, "results.csv": results_csv(results_rows(view)),
                           chart_cache.NAME: chart_cache.dump(charts)}, private=private)
    return out_dir / "index.html"


__all__ = ["build_report", "load_run", "load_runs", "render_html"]
