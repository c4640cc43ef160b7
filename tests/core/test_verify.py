"""`clue verify`: verdicts, deltas, exit codes; the fake server's oracle run deviates from the paper."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from clue.benchmarks.clue import published
from clue.published import PROTOCOL
from clue.report.load import load_run
from clue.verify import any_deviates, format_table, judge, verify_run
from tests.conftest import ROOT, chat_template_file, run_clue
from tests.core.test_report_fixtures import published_like_run, sample, write_run

LLAMA3 = "meta-llama/Meta-Llama-3-8B-Instruct"


def test_judge_rules():
    # equivalence: the whole CI within published ± margin
    assert judge(50.0, 48.0, 52.0, 50.5, 3.0, n=100) == ("reproduced", None, pytest.approx(-0.5))
    # published inside the CI but the CI reaches past published ± margin: inconclusive, not reproduced
    assert judge(50.0, 48.0, 52.0, 51.9, 1.0, n=100)[0] == "inconclusive"
    assert judge(50.0, 48.0, 52.0, 53.1, 1.0, n=100) == ("deviates", "lower", pytest.approx(-3.1))
    assert judge(50.0, 48.0, 52.0, 46.5, 1.0, n=100) == ("deviates", "higher", pytest.approx(3.5))
    assert judge(50.0, 48.0, 52.0, 52.004, 1.0, n=100)[0] != "deviates"  # within the published rounding
    assert judge(50.0, None, None, 50.5, 1.0)[0] == "inconclusive"  # no CI: nothing to test
    assert judge(50.0, 48.0, 52.0, None, 1.0) == ("no reference", None, None)
    assert judge(None, None, None, 40.0, 1.0) == ("not computed", None, None)
    # a subset is never reproduced; synthetic data is neither reproduced nor deviates; too few items: inconclusive
    assert judge(50.0, 49.5, 50.5, 50.0, 3.0, n=100, subset=True)[0] == "inconclusive"
    assert judge(50.0, 49.5, 50.5, 80.0, 3.0, n=100, subset=True)[0] == "deviates"
    assert judge(100.0, 100.0, 100.0, 40.0, 3.0, n=100, synthetic=True)[0] == "inconclusive"
    assert judge(100.0, 100.0, 100.0, 40.0, 3.0, n=3)[0] == "inconclusive"


def test_inconclusive_states_detectable_deviation_and_items_needed():
    from clue import verdict

    v = verdict.judge(50.0, 46.0, 54.0, 51.0, margin=3.0, n=100)
    assert v.outcome == "inconclusive"
    assert v.mdd == pytest.approx((1.959964 + 0.841621) * 4.0 / 1.959964, rel=1e-4)
    assert v.items_needed == 400  # half-width 4 must shrink to 3 − 1 = 2: four times the items
    assert verdict.items_for(100, 46.0, 54.0, -5.0, 3.0) == 100 + 1 or verdict.items_for(100, 46.0, 54.0, -5.0, 3.0) > 100
    assert "TOST" in verdict.rule_text(3.0) or "two one-sided" in verdict.rule_text(3.0)


def test_run_equal_to_published_is_reproduced_everywhere(tmp_path: Path):
    run = load_run(published_like_run(tmp_path / "llama3", "Meta-Llama-3-8B-Instruct"))
    checks = verify_run(run["benchmark"], run, replicates=200)
    judged = [c for c in checks if c.verdict != "no reference"]
    assert judged and all(c.verdict == "reproduced" for c in judged), [c for c in judged if c.verdict != "reproduced"]
    assert {c.task for c in judged} >= {"MedNLI", "MeQSum", "LongHealth", "Level1", "Level2"}
    lv1 = next(c for c in checks if c.task == "Level1")
    assert lv1.published == 48.37 and lv1.source == published.V3_SITE and abs(lv1.delta) < 0.01
    score = next(c for c in checks if c.task == "MeQSum" and c.metric == "score")
    assert score.source == f"{published.V3_SITE}+rule" and score.verdict == "reproduced"
    assert not any_deviates(checks)


def test_shifted_run_deviates_with_direction_and_delta(tmp_path: Path):
    run = load_run(published_like_run(tmp_path / "llama3", "Meta-Llama-3-8B-Instruct", shift=-5.0))
    checks = verify_run(run["benchmark"], run, replicates=200, tolerance=1.0)
    acc = next(c for c in checks if c.task == "MedNLI" and c.metric == "accuracy")
    assert (acc.verdict, acc.direction) == ("deviates", "lower") and acc.delta == pytest.approx(-5.0)
    assert verify_run(run["benchmark"], run, replicates=200, tolerance=6.0)[0].verdict == "reproduced"  # the stated margin matters
    assert any_deviates(checks)
    table = format_table(checks)
    assert "deviates (lower)" in table and "-5.00" in table


def test_skipped_metric_is_not_computed_and_partial_scores_are_not_judged(tmp_path: Path):
    lines = [sample("meqsum", f"SYNTHETIC-{i}", {"rougeL": 32.2, "rouge1": 36.49, "rouge2": 16.37}) for i in range(20)]
    run = load_run(write_run(tmp_path / "r", LLAMA3, lines, skipped={"meqsum": {"bertscore_f1": "pip install 'clue-kit[bertscore]'"}}))
    checks = {c.metric: c for c in verify_run(run["benchmark"], run, replicates=100)}
    assert checks["bertscore_f1"].verdict == "not computed" and "clue-kit[bertscore]" in checks["bertscore_f1"].note
    assert checks["score"].verdict == "not computed" and checks["score"].reproduced is not None
    assert "partial" in checks["score"].note
    assert checks["rougeL"].verdict == "reproduced"


def test_unknown_model_has_no_reference_and_protocol_is_noted(tmp_path: Path):
    lines = [sample("mednli", f"SYNTHETIC-{i}", {"accuracy": 100.0}) for i in range(20)]
    run = load_run(write_run(tmp_path / "r", "someone/unknown-model", lines, protocol="corrected"))
    checks = verify_run(run["benchmark"], run, replicates=50)
    assert {c.verdict for c in checks} == {"no reference"} and not any_deviates(checks)
    assert "no published model" in checks[0].note
    forced = verify_run(run["benchmark"], run, replicates=50, published_model="meditron-7b")
    assert forced[0].published == 2.39 and forced[0].verdict == "deviates" and "protocol corrected" in forced[0].note


def test_cli_exit_codes_json_and_list(tmp_path: Path):
    good = published_like_run(tmp_path / "good", "Mistral-7B-Instruct-v0.2")
    bad = published_like_run(tmp_path / "bad", "Mistral-7B-Instruct-v0.2", shift=10.0)
    proc = run_clue("verify", str(good), "--bootstrap", "100")
    assert proc.returncode == 0, proc.stderr
    assert "reproduced" in proc.stdout and "0 deviates" in proc.stdout
    out = tmp_path / "v.json"
    proc = run_clue("verify", str(good), str(bad), "--bootstrap", "100", "--json", str(out))
    assert proc.returncode == 1 and "deviates (higher)" in proc.stdout
    rows = json.loads(out.read_text())
    assert {r["run"] for r in rows} == {"good", "bad"}
    listed = run_clue("verify", "--list-models")
    assert listed.returncode == 0 and "mistralai/Mistral-7B-Instruct-v0.2" in listed.stdout
    err = run_clue("verify", str(good), "--published-model", "nope")
    assert err.returncode == 2 and err.stderr.count("\n") == 1 and "no published model named" in err.stderr
    missing = run_clue("verify", str(tmp_path / "missing"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_fake_server_oracle_synthetic_run_is_inconclusive_with_correct_deltas(tmp_path: Path):
    """Outputs = references (the fake server's oracle) on the bundled synthetic MeQSum items: ROUGE 100, far above
    the paper — but synthetic items are not the benchmark: inconclusive (exit 4), marked as synthetic, deltas shown."""
    sys.path.insert(0, str(ROOT / "tests"))
    fakeserver = pytest.importorskip("fakeserver")
    from clue.benchmarks.clue.synthetic import records

    mapping = {str(r["CHQ"]): str(r["Summary"]) for r in records("meqsum")}
    run_dir = tmp_path / "oracle"
    with fakeserver.FakeServer(responder=fakeserver.OracleResponder(mapping), model_id=LLAMA3) as srv:
        proc = run_clue("run", "--engine", "tgi", "--endpoint", srv.url, "--model", LLAMA3, "--tasks", "meqsum", "--synthetic",
                        "--chat-template", str(chat_template_file(tmp_path)), "--out", str(run_dir),
                        "--store", str(tmp_path / "store.sqlite"), "--no-progress", env={"HF_HUB_OFFLINE": "0"})
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "verify.json"
    proc = run_clue("verify", str(run_dir), "--json", str(out))
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "SYNTHETIC DATA" in proc.stdout and "Verdict rule:" in proc.stdout
    checks = {(c["task"], c["metric"]): c for c in json.loads(out.read_text())}
    pub = published.PUBLISHED.table(PROTOCOL)["Meta-Llama-3-8B-Instruct"]["MeQSum"]
    for metric in ("rougeL", "rouge1", "rouge2"):
        c = checks[("MeQSum", metric)]
        assert c["reproduced"] == pytest.approx(100.0)
        assert (c["verdict"], c["direction"]) == ("inconclusive", None) and "synthetic" in c["note"]
        assert c["published"] == pub[metric].value
        assert c["delta"] == pytest.approx(100.0 - pub[metric].value)
    assert f"{100.0 - pub['rougeL'].value:+.2f}" in proc.stdout


def _medqa_bench(tmp_path: Path, rows: str):
    """A benchmark holding ClinicBench's MedQA task (k = 0: zero-shot by default) and a published table of `rows`."""
    from clue.benchmark import Benchmark, get_benchmark
    from clue.published import Published

    (tmp_path / "models.csv").write_text("model,hf_id,hf_id_status,type,base_model,size,aliases\nGPT-4,,none,general,GPT-4,API,gpt-4\n")
    (tmp_path / "values.csv").write_text("model,task,metric,value,source,setting\n" + rows)
    cb = get_benchmark("clinicbench")
    return Benchmark(name="gadcheck", title="GAD check", tasks={"medqa": cb.tasks["medqa"]}, protocols=cb.protocols,
                     default_protocol="clinicbench", reference_protocol="clinicbench", rule=cb.rule,
                     published=Published.from_csv(tmp_path / "values.csv", tmp_path / "models.csv"))


def _medqa_run(tmp_path: Path, name: str, shots: int, accuracy: float = 50.0):
    lines = [sample("medqa", f"SYNTHETIC-{i}", {"accuracy": accuracy}) for i in range(40)]
    return load_run(write_run(tmp_path / name, "gpt-4", lines, protocol="clinicbench", titles={"medqa": "MedQA"}, shots=shots))


def test_a_few_shot_run_is_never_judged_against_zero_shot_numbers(tmp_path: Path):
    bench = _medqa_bench(tmp_path, "GPT-4,medqa,accuracy,50.0,paper_t3,zero-shot\n")
    (acc,) = verify_run(bench, _medqa_run(tmp_path, "three", 3, accuracy=0.0), replicates=50)
    assert (acc.verdict, acc.published, acc.delta, acc.setting) == ("no reference", None, None, "3-shot")
    assert "no reference for 3-shot (published: zero-shot)" in acc.note
    (zero,) = verify_run(bench, _medqa_run(tmp_path, "zero", 0), replicates=50)
    assert (zero.published, zero.setting, zero.verdict) == (50.0, "zero-shot", "reproduced")  # 40 items all 50: CI [50, 50]


def test_each_setting_is_judged_against_its_own_row(tmp_path: Path):
    bench = _medqa_bench(tmp_path, "GPT-4,medqa,accuracy,50.0,paper_t3,zero-shot\nGPT-4,MedQA,accuracy,70.0,paper_t4,3-shot\n")
    (acc,) = verify_run(bench, _medqa_run(tmp_path, "three", 3, accuracy=100.0), replicates=50)
    assert (acc.published, acc.source, acc.delta, acc.verdict, acc.direction) == (70.0, "paper_t4", 30.0, "deviates", "higher")


def test_all_lists_long_task_titles_in_their_own_column():
    from clue.verify import Check

    checks = [Check("r", "m", None, "p", "Drug Interaction for Emerging Drugs", "accuracy", 50.0, 40.0, 60.0, None, None, None,
                    "no reference", None, setting="zero-shot"),
              Check("r", "m", None, "p", "MedQA", "extraction_failures_rate", 1.0, None, None, None, None, None,
                    "no reference", None, setting="zero-shot")]
    table = format_table(checks, show_all=True)
    header, first, second = table.splitlines()[1:4]
    assert "Drug Interaction for Emerging Drugs  accuracy " in first  # never run together
    assert "extraction_failures_rate  " in second
    assert first.index("accuracy") == second.index("extraction_failures_rate") == header.index("metric")
    assert "(protocol p; zero-shot)" in table.splitlines()[0]
    assert "no reference" not in format_table(checks).splitlines()[1]  # without --all: hidden, and said so


def test_server_template_note_only_where_a_server_rendered_the_prompts():
    from clue.verify import prompts_note

    assert "server-side chat template" in prompts_note({"route": "chat", "prompts_byte_identical": False})
    assert prompts_note({"route": None, "prompts_byte_identical": False}) == ""  # the baseline engine: no server
    assert prompts_note({"route": "completions", "prompts_byte_identical": True}) == ""


def test_verify_without_published_numbers_says_so_in_one_line(tmp_path: Path):
    lines = [sample("gad", f"SYNTHETIC-{i}", {"f1": 50.0}) for i in range(5)]
    run = write_run(tmp_path / "cb", "gpt-4", lines, protocol="clinicbench", titles={"gad": "GAD"}, shots=0, benchmark="clinicbench")
    proc = run_clue("verify", str(run), "--bootstrap", "20")
    assert proc.returncode == 4 and proc.stdout == "clue: verify: cb: no published ClinicBench numbers are bundled with this kit; nothing to verify\n"
