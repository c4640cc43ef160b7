"""The HTML report and results.csv: content, escaping, CSP, redaction, cost, comparisons, CLI."""

from __future__ import annotations

import base64
import csv
import hashlib
import re
from pathlib import Path

import pytest

from clue.report import build_report
from tests.conftest import run_clue
from tests.core.test_report_fixtures import published_like_run, sample, write_run

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(2)>"


def xss_run(path: Path, model: str = f"SYNTHETIC/model{XSS_SCRIPT}") -> Path:
    lines = [sample("mednli", f"SYNTHETIC-{i}{XSS_IMG}", {"accuracy": 100.0 if i % 2 else 0.0}, output=f"{XSS_SCRIPT} and {XSS_IMG}",
                    reference=f"SYNTHETIC-CRED-REF {XSS_IMG}", prompt=[{"role": "system", "content": XSS_SCRIPT},
                                                                  {"role": "user", "content": "SYNTHETIC-NOTE secret text"}],
                    usage={"prompt_tokens": 1000, "completion_tokens": 10})
             for i in range(6)]
    lines += [sample("meqsum", f"SYNTHETIC-{i}", {"rougeL": 30.0 + i, "rouge1": 35.0, "rouge2": 15.0}, output=f"q{i} {XSS_SCRIPT}",
                     prompt="SYNTHETIC public inquiry", usage={"prompt_tokens": 500, "completion_tokens": 20}, cached=i < 2)
              for i in range(6)]
    lines.append(sample("meqsum", "SYNTHETIC-failed", {}, status="failed"))
    return write_run(path, model, lines)


def test_report_contents_and_results_csv(tmp_path: Path):
    good = published_like_run(tmp_path / "llama3-good", "Meta-Llama-3-8B-Instruct")
    bad = published_like_run(tmp_path / "llama3-bad", "Meta-Llama-3-8B-Instruct", shift=-8.0)
    html_path = build_report([good, bad], tmp_path / "out", replicates=100)
    html = html_path.read_text(encoding="utf-8")
    for needle in ("Leaderboard", "Level 1 vs Level 2", "Paired comparison", "Provenance", "llama3-good", "llama3-bad",
                   "Meta-Llama-3-70B-Instruct", "badge reproduced", "deviates (lower)", "McNemar (exact)", "<svg"):
        assert needle in html, needle
    for title in ("MedNLI", "MeQSum", "ProblemSummary", "MeDiSumQA", "MeDiSumCode", "LongHealth"):
        assert f'id="task-{title.lower()}"' in html
    with (tmp_path / "out" / "results.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["run"] for r in rows} == {"llama3-good", "llama3-bad"}
    key = {(r["run"], r["task"], r["metric"]): r for r in rows}
    acc = key[("llama3-bad", "MedNLI", "accuracy")]
    assert float(acc["value"]) == pytest.approx(74.08 - 8.0) and float(acc["delta"]) == pytest.approx(-8.0)
    assert acc["verdict"] == "deviates" and acc["direction"] == "lower" and acc["published_source"] == "v3_site_354cc30"
    assert key[("llama3-good", "Level2", "avg")]["verdict"] == "reproduced"
    assert len(rows) == len({(r["run"], r["task"], r["metric"]) for r in rows})  # one row per run × task × metric


def test_model_text_is_escaped_and_csp_pins_our_only_script(tmp_path: Path):
    html = build_report([xss_run(tmp_path / "xss")], tmp_path / "out", replicates=50).read_text(encoding="utf-8")
    assert XSS_SCRIPT not in html and XSS_IMG not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(scripts) == 1 and html.count("<script") == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert "default-src 'none'" in csp and f"script-src 'sha256-{digest}'" in csp
    # nothing is fetched: no src attributes, no external links/stylesheets/imports
    assert not re.search(r"\ssrc\s*=", html.replace("&lt;img src=x", ""))
    assert not re.search(r"""(href|url\()\s*=?\s*["']?(https?:|//)""", html)
    assert "@import" not in html


def test_redact_drops_credentialed_text_only(tmp_path: Path):
    run = xss_run(tmp_path / "r", model="SYNTHETIC/model")
    plain = build_report([run], tmp_path / "plain", replicates=20).read_text(encoding="utf-8")
    red = build_report([run], tmp_path / "red", redact=True, replicates=20).read_text(encoding="utf-8")
    assert "SYNTHETIC-NOTE secret text" in plain and "SYNTHETIC-CRED-REF" in plain
    assert "SYNTHETIC-NOTE secret text" not in red and "SYNTHETIC-CRED-REF" not in red  # MedNLI is credentialed
    assert "alert(2)&gt; and" not in red  # its outputs too
    assert "SYNTHETIC public inquiry" in red and "SYNTHETIC server error" in red  # MeQSum is public: kept
    assert "SYNTHETIC-5" in red and "accuracy 100.00" in red  # ids and scores stay
    assert "Redacted report" in red and "mednli" in red


def test_usage_and_cost(tmp_path: Path):
    run = xss_run(tmp_path / "r", model="SYNTHETIC/priced")
    html = build_report([run], tmp_path / "a", replicates=20).read_text(encoding="utf-8")
    assert "no price for this model" in html
    prices = tmp_path / "prices.yaml"
    prices.write_text("prices:\n  SYNTHETIC/priced: {input: 2.0, output: 10.0}\n")
    html = build_report([run], tmp_path / "b", replicates=20, prices=str(prices)).read_text(encoding="utf-8")
    total = (6 * 1000 + 6 * 500) * 2.0 / 1e6 + (6 * 10 + 6 * 20) * 10.0 / 1e6
    sent = (6 * 1000 + 4 * 500) * 2.0 / 1e6 + (6 * 10 + 4 * 20) * 10.0 / 1e6
    assert f"{total:.4f} (this invocation {sent:.4f})" in html
    bad = tmp_path / "bad.yaml"
    bad.write_text("prices:\n  m: {input: cheap}\n")
    from clue.errors import ConfigError

    with pytest.raises(ConfigError, match="numeric 'input' and 'output'"):
        build_report([run], tmp_path / "c", prices=str(bad))


def test_explicit_compare_and_unknown_names(tmp_path: Path):
    a = published_like_run(tmp_path / "a", "Mistral-7B-Instruct-v0.2")
    b = published_like_run(tmp_path / "b", "Mistral-7B-Instruct-v0.2", shift=-3.0)
    html = build_report([a, b], tmp_path / "out", replicates=50, compare=[("b", "a")]).read_text(encoding="utf-8")
    assert "A = b · B = a" in html
    from clue.errors import ConfigError

    with pytest.raises(ConfigError, match="--compare names unknown run"):
        build_report([a, b], tmp_path / "out2", compare=[("a", "zzz")])


def test_cli_report_and_errors(tmp_path: Path):
    run = xss_run(tmp_path / "r", model="SYNTHETIC/model")
    proc = run_clue("report", str(run), "--out", str(tmp_path / "rep"), "--redact", "--bootstrap", "50")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "rep" / "index.html").is_file() and (tmp_path / "rep" / "results.csv").is_file()
    proc = run_clue("report", str(tmp_path / "nope"), "--out", str(tmp_path / "rep2"))
    assert proc.returncode == 2 and "does not exist" in proc.stderr and proc.stderr.count("\n") == 1
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "scores.json").write_text("{")
    proc = run_clue("report", str(tmp_path / "broken"), "--out", str(tmp_path / "rep3"))
    assert proc.returncode == 2 and "scores.json is damaged" in proc.stderr and proc.stderr.count("\n") == 1


def test_demo_ends_with_a_full_report(tmp_path: Path):
    proc = run_clue("demo", "--out", str(tmp_path / "runs" / "demo"), "--report", str(tmp_path / "reports" / "demo"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "reports" / "demo" / "index.html").read_text(encoding="utf-8")
    assert "Leaderboard" in html and "Provenance" in html and "parameterless-baseline" in html
    assert (tmp_path / "reports" / "demo" / "results.csv").is_file()


def test_a_report_over_two_benchmarks_has_one_section_each_and_a_summary(tmp_path: Path):
    """Measured on the old code: the first run's benchmark shaped the page (CLUE's Level columns for ClinicBench)."""
    from clue.report.aggregate import ReportOptions, build_view
    from clue.report.load import by_benchmark, load_runs

    cb_lines = [sample(n, f"SYNTHETIC-{i}", {"accuracy": 100.0 * (i % 2)}) for n in ("medqa", "medmcqa") for i in range(6)]
    cb = write_run(tmp_path / "cb", "gpt-4", cb_lines, protocol="clinicbench", shots=0, benchmark="clinicbench",
                   titles={"medqa": "MedQA (USMLE, US)", "medmcqa": "MedMCQA (dev)"})
    clue_run = published_like_run(tmp_path / "clue", "Meta-Llama-3-8B-Instruct", n=4)
    runs = load_runs([cb, clue_run])
    assert [(rs.name, [r["name"] for r in rs.runs]) for rs in by_benchmark(runs)] == [("clinicbench", ["cb"]), ("clue", ["clue"])]
    view = build_view(runs, ReportOptions(replicates=20))
    cb_sec, clue_sec = view["sections"]
    assert cb_sec["levels"] == ["reasoning", "generation", "understanding"] and clue_sec["levels"] == ["Level1", "Level2"]
    assert [r["name"] for r in cb_sec["leaderboard"]] == ["cb"] and "Meta-Llama-3-8B-Instruct" in [r["name"] for r in clue_sec["leaderboard"]]
    assert cb_sec["no_published"] and not clue_sec["no_published"]
    assert {r["model"] for r in view["summary"]["rows"]} == {"gpt-4", "meta-llama/Meta-Llama-3-8B-Instruct"}
    assert view["comparisons"] == []  # never a pair across benchmarks
    out = tmp_path / "report"
    build_report([cb, clue_run], out, replicates=20)
    html = (out / "index.html").read_text()
    cb_part = html[html.index('id="clinicbench-benchmark"'):html.index('id="clue-benchmark"')]
    assert ">Reasoning<" in cb_part and "Level 1" not in cb_part and 'id="clinicbench-task-medqausmleus"' in cb_part
    assert "Level 1" in html[html.index('id="clue-benchmark"'):] and 'id="summary"' in html
    assert len(re.findall(r'<section id="[a-z-]*leaderboard"', html)) == 2
