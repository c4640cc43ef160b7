"""`clue watch` (issue 26) against fake servers: the power-sized stratified subset, the alert, the cost cap.

Expected values by hand. The invented MedNLI file has 203 items; CLUE takes ids 0–2 as shots, so 200 are evaluated
(ids 3..202), gold label LABELS[id % 3]: entailment 67 (3, 6, …, 201), neutral 67 (4, …, 202), contradiction 66
(5, …, 200). `--detect 10` with the default ψ = 20 %, power 0.8, α 0.05 (Connor 1987):
    n = (1.959964·√0.20 + 0.841621·√(0.20 − 0.10²))² / 0.10² = (0.876523 + 0.366855)² / 0.01 = 154.60 → 155.
Proportional allocation of 155: 155·67/200 = 51.925 (twice) and 155·66/200 = 51.15 → floors 51 + 51 + 51 = 153; the
two left go to the largest remainders (.925, .925): entailment 52, neutral 52, contradiction 51.
On the 3rd run the server answers every id divisible by 10 wrong (20 of the 200): the run's accuracy drops by
100·K/155 points, K = how many of those ids the subset holds (read from subset.json, counted here).
"""

from __future__ import annotations

import json

from tests.conftest import run_clue
from tests.core.test_cli_errors import assert_one_line_error
from tests.core.test_compare import LABELS, MODEL, Responder, mednli_data
from tests.fakeserver import FakeServer

FLIPPED = {i for i in range(3, 203) if i % 10 == 0}


class Switchable:
    def __init__(self, responder) -> None:
        self.responder = responder

    def __call__(self, kind: str, payload) -> str:
        return self.responder(kind, payload)


def watch_args(series, srv, data, tmp_path, *extra: str) -> list[str]:
    from tests.core.test_oracle_runs import tokenizer_file

    return ["watch", "--series", str(series), "--equivalence", "3", "--detect", "10", "--engine", "openai", "--endpoint",
            srv.url + "/v1", "--model", MODEL, "--tasks", "mednli", "--data-dir", str(data),
            "--tokenizer", str(tokenizer_file(tmp_path / "tok.json")), "--max-position-embeddings", "4096", "--no-progress", *extra]


def test_watch_series_alerts_when_the_server_changes_on_the_third_run(tmp_path):
    data, keys = mednli_data(tmp_path, 203)
    server = Switchable(Responder(keys))
    series = tmp_path / "series"
    with FakeServer(responder=server, model_id=MODEL) as srv:
        def step(*extra: str):
            srv.reset_stats()
            proc = run_clue(*watch_args(series, srv, data, tmp_path, *extra))
            assert "Traceback" not in proc.stderr
            return proc, srv.stats.completed

        (first, sent1), (second, sent2) = step(), step()
        refused, sent_refused = step("--detect", "8")  # another design: refused before anything is sent
        server.responder = Responder(keys, FLIPPED)
        srv.version = "3.4.0"  # and the server's system_fingerprint changes with it
        third, sent3 = step()
    assert sent1 == sent2 == sent3 == 155  # the subset, asked again every time: never read from the store
    assert first.returncode == 0 and "first run" in first.stdout and "MedNLI 155 of 200" in first.stdout, first.stdout
    assert second.returncode == 0 and "run-002 vs previous (run-001): equivalent" in second.stdout, second.stdout
    assert refused.returncode == 2 and sent_refused == 0
    assert_one_line_error(refused, "sized with other settings", "detect 10.0 → 8.0")

    stored = json.loads((series / "subset.json").read_text())
    chosen = [int(i) for i in stored["tasks"]["mednli"]["ids"]]
    assert len(chosen) == len(set(chosen)) == 155 and set(chosen) <= set(range(3, 203))
    by_label = {lab: sum(1 for i in chosen if LABELS[i % 3] == lab) for lab in LABELS}
    assert by_label == {"entailment": 52, "neutral": 52, "contradiction": 51}
    assert stored["tasks"]["mednli"]["strata"] == {"contradiction": [51, 66], "entailment": [52, 67], "neutral": [52, 67]}
    assert stored["design"] == {"detect": 10.0, "power": 0.8, "alpha": 0.05, "discordance": 20.0, "seed": 0}
    for run in ("run-001", "run-002", "run-003"):  # every run on the same items, recorded in run.json and scores.json
        record = json.loads((series / run / "run.json").read_text())
        assert record["subset"]["ids_sha256"] == stored["ids_sha256"] and "ids" not in record["subset"]["tasks"]["mednli"]
        ids = {int(json.loads(ln)["sample_id"]) for ln in (series / run / "samples.jsonl").read_text().splitlines()}
        assert ids == set(chosen)
        task = json.loads((series / run / "scores.json").read_text())["tasks"]["mednli"]
        assert (task["limit"], task["n_available"]) == (155, 200)  # a subset: `clue verify` never calls it reproduced

    k = len(FLIPPED & set(chosen))
    assert k >= 8  # enough flipped items in the subset for a decisive step (seed 0's draw holds this many)
    drop = f"MedNLI {-100 * k / 155:+.2f} points"
    assert third.returncode == 1, third.stdout + third.stderr
    alert = [ln for ln in third.stderr.splitlines() if ln.startswith("clue: watch:")]
    assert len(alert) == 1 and f"changed since run-002 (previous): {drop} [" in alert[0], third.stderr
    assert f"changed since run-001 (first): {drop} [" in alert[0]
    assert "system_fingerprint: 3.3.7-native → 3.4.0-native" in alert[0]
    history = json.loads((series / "series.json").read_text())
    assert [h["run"] for h in history] == ["run-001", "run-002", "run-003"]  # the refused call left no entry
    assert [c["outcome"] for c in history[2]["comparisons"]] == ["different", "different"]
    assert history[0]["comparisons"] == [] and len(history[1]["comparisons"]) == 1  # run-001 is both previous and first
    assert {h["subset"]["ids_sha256"] for h in history} == {stored["ids_sha256"]}

    from tests.core.test_report_charts import clipped_texts, text_spans

    proc = run_clue("report", *(str(series / f"run-00{i}") for i in (1, 2, 3)), "--out", str(tmp_path / "rep"))
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "rep" / "index.html").read_text()
    section = html[html.index('<section id="watch-1">'):]
    section = section[:section.index("</section>")]
    assert drop in section and section.count('<span class="v-deviates">different</span>') == 2
    assert f"<div>vs previous (run-002): {drop} [" in section and "; system_fingerprint: 3.3.7-native → 3.4.0-native</div>" in section
    assert "MedNLI 155 of 200 items" in section and "detect 10 points with power 0.8 at α 0.05" in section
    assert stored["ids_sha256"][:12] in section
    svg = section[section.index("<svg"):section.index("</svg>") + 6]
    texts = [t for t, _, _ in text_spans(svg)]
    assert clipped_texts(svg) == [] and {"001", "002", "003", "MedNLI", "changed since the previous run"} <= set(texts)
    assert svg.count('stroke: #dc2626') == 2  # one ring (run-003, the step) and its legend key


def test_refusals_are_one_line_and_send_nothing(tmp_path):
    data, keys = mednli_data(tmp_path, 43)
    series = tmp_path / "s"
    with FakeServer(responder=Responder(keys), model_id=MODEL) as srv:
        cases = [(("--limit", "10"), "sizes its subset itself"), (("--out", str(tmp_path / "x")), "does not take --out"),
                 (("--equivalence", "12"), "--detect 10 is within --equivalence 12"),
                 (("--discordance", "5"), "--discordance 5 must lie between --detect 10 and 100")]
        for extra, needle in cases:
            proc = run_clue(*watch_args(series, srv, data, tmp_path, *extra))
            assert proc.returncode == 2
            assert_one_line_error(proc, needle)
        assert srv.stats.requests == 0
    assert not (series / "series.json").exists() and not (series / "subset.json").exists()


def test_cost_cap_is_checked_before_anything_is_sent(tmp_path):
    """Test prices: $1000 / $2000 per 1M input / output tokens; 40 MedNLI items (43 − 3 shots) of ~100 prompt tokens
    and up to 20 new tokens each cost up to ~40 · (0.1 + 0.04) ≈ $5.6: a $0.5 cap refuses the run, nothing sent."""
    from tests.core.test_hosted import _prices

    data, keys = mednli_data(tmp_path, 43)
    series = tmp_path / "series"
    with FakeServer(responder=Responder(keys), model_id="gpt-4o") as srv:
        args = watch_args(series, srv, data, tmp_path, "--prices", str(_prices(tmp_path, "gpt-4o")))
        args[args.index(MODEL)] = "gpt-4o"
        capped = run_clue(*args, "--max-cost", "0.5")
        sent = srv.stats.requests
        srv.reset_stats()
        full = run_clue(*args, "--max-cost", "100")
        sent_after = srv.stats.completed
    assert capped.returncode == 2 and sent == 0, capped.stderr
    assert_one_line_error(capped, "40 requests to gpt-4o may cost up to $", "over --max-cost 0.5; nothing was sent")
    bound = float(capped.stderr.split("up to $")[1].split(" ")[0])
    assert 0.5 < bound < 100
    assert full.returncode == 0 and sent_after == 40, full.stderr  # all 40: fewer than the 155 the design asks for
    assert "MedNLI 40 of 40 (needs 155: power 0." in full.stdout
    history = json.loads((series / "series.json").read_text())
    assert [h["run"] for h in history] == ["run-001"]  # the refused attempt was never recorded
