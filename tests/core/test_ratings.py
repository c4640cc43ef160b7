"""Clinician ratings: blinded export, validated import, the report's ratings section, agreement statistics."""

from __future__ import annotations

import csv
import json
import os
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest

from clue.ratings.agreement import cohen_kappa, exact_agreement, krippendorff_alpha
from tests.conftest import run_clue
from tests.core.ratings_fixtures import MODELS, N_ITEMS, fake_runs, rouge_of


def export(tmp_path: Path, runs: list[Path], *extra: str, n: int = 12, out: str = "exp") -> Path:
    proc = run_clue("ratings", "export", *map(str, runs), "--task", "meqsum", "--n", str(n), "--seed", "7", "--raters", "2",
                    "--out", str(tmp_path / out), *extra)
    assert proc.returncode == 0, proc.stderr
    return tmp_path / out


def sheet_files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.is_file() and p.parent.name.startswith("rater-"))


def readable_text(path: Path) -> str:
    """Everything a rater could read in a sheet file (an XLSX is a zip of XML parts)."""
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as z:
            return "".join(z.read(name).decode("utf-8", "replace") for name in z.namelist())
    return path.read_text(encoding="utf-8-sig")


def fill_csv(path: Path, key: dict, score_of, dest: Path | None = None) -> Path:
    """Fill every score cell of a CSV sheet with score_of(run_index, sample_id, axis)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    sheet = key["sheets"][rows[0]["sheet"]]
    for r in rows:
        run = sheet["outputs"][r["item"]][r["output"]]
        for col in r:
            if "[" in col:
                r[col] = str(score_of(run, key["items"][r["item"]], col.split(" [")[0]))
        r["notes"] = "RATER-NOTE-SENTINEL"
    dest = dest or path
    with dest.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return dest


def fill_xlsx(path: Path, key: dict, score_of) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(path)
    ws = wb["ratings"]
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        cells = dict(zip(header, row))
        sheet = key["sheets"][cells["sheet"].value]
        run = sheet["outputs"][cells["item"].value][cells["output"].value]
        for h, c in cells.items():
            if "[" in h:
                c.value = score_of(run, key["items"][cells["item"].value], h.split(" [")[0])
    wb.save(path)


def good_scores(rater_shift: int):
    """Run 0 is rated higher; ratings follow ROUGE-L within a run; rater 2 is one point harsher on some items."""
    def score(run: int, sid: str, axis: str) -> int:
        i = int(sid.rsplit("q", 1)[1])
        base = 1 + int(rouge_of(run, i) // 20)
        return int(np.clip(base - (rater_shift if i % 3 == 0 else 0), 1, 4))
    return score


def test_export_is_blinded_seeded_and_complete(tmp_path: Path):
    runs = fake_runs(tmp_path / "runs")
    out = export(tmp_path, runs, "--rubric", "clinicbench")
    key = json.loads((out / "key" / "key.json").read_text())
    files = sheet_files(out)
    assert sorted(p.name for p in files) == sorted(f"{sid}{ext}" for sid in key["sheets"] for ext in (".html", ".csv", ".xlsx"))
    # blinding: no model name, run id, run directory or sample id anywhere in what a rater receives
    forbidden = [*MODELS, *MODELS.values(), *(m.split("/")[-1] for m in MODELS.values()), "SecretAlpha", "HiddenBeta",
                 "acme-labs", "zeta-corp", str(tmp_path), *key["items"].values(), "SYNTHETIC-q"]
    for path in files:
        text = readable_text(path)
        for word in forbidden:
            assert word not in text, (path.name, word)
    # the key (kept apart) un-blinds: both raters see the same items, in different orders, outputs shuffled per rater
    assert len(key["items"]) == 12 and len(set(key["items"].values())) == 12
    orders = []
    for sid, sheet in key["sheets"].items():
        with (out / sheet["rater"] / f"{sid}.csv").open(encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
        assert len(rows) == 12 * 2
        orders.append([r["item"] for r in rows][::2])
        assert set(orders[-1]) == set(key["items"])
        assert all(sorted(m.values()) == [0, 1] for m in sheet["outputs"].values())
    assert orders[0] != orders[1]
    # stratified by ROUGE-L: the sample spans the range of item scores
    means = {f"SYNTHETIC-q{i:03d}": (rouge_of(0, i) + rouge_of(1, i)) / 2 for i in range(N_ITEMS)}
    picked = sorted(means[s] for s in key["items"].values())
    ranked = sorted(means.values())
    assert picked[0] <= ranked[N_ITEMS // 4] and picked[-1] >= ranked[3 * N_ITEMS // 4]
    # same seed → same sample and orders; the HTML form escapes model markup
    again = json.loads((export(tmp_path, runs, "--rubric", "clinicbench", out="exp2") / "key" / "key.json").read_text())
    assert sorted(again["items"].values()) == sorted(key["items"].values())
    assert [s["outputs"] for s in again["sheets"].values()] == [s["outputs"] for s in key["sheets"].values()]
    html = next(p for p in files if p.suffix == ".html").read_text()
    assert "&lt;b&gt;is X safe" in html and "<b>is X safe" not in html
    assert "default-src 'none'" in html and "patient text" not in html
    assert not list((out / "rater-1").glob("*key*"))


def test_round_trip_import_and_report(tmp_path: Path):
    runs = fake_runs(tmp_path / "runs")
    out = export(tmp_path, runs, "--rubric", "clinicbench")
    key = json.loads((out / "key" / "key.json").read_text())
    (s1, m1), (s2, m2) = key["sheets"].items()
    fill_csv(out / m1["rater"] / f"{s1}.csv", key, good_scores(0))
    fill_xlsx(out / m2["rater"] / f"{s2}.xlsx", key, good_scores(1))
    proc = run_clue("ratings", "import", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "imported 48 rated output(s)" in proc.stdout
    stored = json.loads((runs[0] / "ratings" / f"{key['export']}.json").read_text())
    assert stored["run"] == runs[0].name and len(stored["ratings"]) == 24 and stored["raters"] == ["rater-1", "rater-2"]
    # un-blinded correctly: run 0's ratings are exactly what good_scores gave run 0
    for r in stored["ratings"]:
        expect = good_scores(0 if r["rater"] == "rater-1" else 1)(0, r["sample_id"], "faithfulness")
        assert r["scores"]["faithfulness"] == expect
    rep = run_clue("report", *map(str, runs), "--out", str(tmp_path / "rep"), "--bootstrap", "200")
    assert rep.returncode == 0, rep.stderr
    html = (tmp_path / "rep" / "index.html").read_text()
    section = html[html.index('<section id="ratings">'):]
    section = section[:section.index("</section>")]
    for text in ("Clinician ratings", "ClinicBench expert evaluation", "faithfulness", "Krippendorff", "Cohen",
                 "Automatic metrics vs ratings", "rougeL", "Paired comparisons", runs[0].name, runs[1].name):
        assert text in section, text
    assert 'href="#ratings"' in html
    assert "RATER-NOTE-SENTINEL" not in html  # raters' notes stay out of the report
    from clue.ratings.report import ratings_view
    from clue.report.load import load_runs

    (group,) = ratings_view(load_runs(runs), replicates=200)
    by_run = {r["run"]: r["cells"] for r in group["rows"]}
    assert by_run[runs[0].name]["faithfulness"].value > by_run[runs[1].name]["faithfulness"].value
    rho = {c["metric"]: c["cells"]["faithfulness"]["rho"] for c in group["correlations"]}
    assert rho["rougeL"] > 0.8  # ratings were made to follow ROUGE-L
    ag = {a["axis"]: a for a in group["agreement"]}["faithfulness"]
    assert ag["kappa"] is not None and 0 < ag["kappa"] < 1 and 0 < ag["alpha"] < 1
    # re-import replaces, never duplicates
    assert run_clue("ratings", "import", str(out)).returncode == 0
    assert len(json.loads((runs[0] / "ratings" / f"{key['export']}.json").read_text())["ratings"]) == 24


def test_bad_sheets_give_one_line_each_and_store_nothing(tmp_path: Path):
    runs = fake_runs(tmp_path / "runs")
    out = export(tmp_path, runs)
    key = json.loads((out / "key" / "key.json").read_text())
    s1, m1 = next(iter(key["sheets"].items()))
    path = fill_csv(out / m1["rater"] / f"{s1}.csv", key, lambda *a: 3)
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    cols = list(rows[0])
    score_col = next(c for c in cols if c.startswith("correctness ["))
    rows[0]["item"] = "I99"                 # unknown item
    rows[1][score_col] = "7"                # off the 1-5 scale
    rows[2][score_col] = "good"             # not a score
    rows.append(dict(rows[3]))              # the same output rated twice
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    stray = out / "returned" / "other.ratings.json"
    stray.parent.mkdir()
    stray.write_text(json.dumps({"format": "clue-ratings-sheet/1", "sheet": "deadbeef-r9",
                                 "ratings": [{"item": "I01", "output": "A", "scores": {"correctness": 2}, "notes": ""}]}))
    proc = run_clue("ratings", "import", str(out))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr
    problems = lines[:-1]
    assert len(problems) == 5, lines
    assert any("row 2: unknown item 'I99'" in x for x in problems)
    assert any("row 3" in x and "'7' is outside the 1–5 scale" in x for x in problems)
    assert any("row 4" in x and "'good' is not a score" in x for x in problems)
    assert any("rated twice by rater-1" in x for x in problems)
    assert any("sheet 'deadbeef-r9' is not in this export's key" in x for x in problems)
    assert lines[-1].startswith("clue: error: 5 problem(s) in the returned sheets; nothing was stored")
    assert not (runs[0] / "ratings").exists()


def test_phi_needs_opt_in_and_stays_owner_only(tmp_path: Path):
    runs = fake_runs(tmp_path / "runs", credentialed=True)
    args = ["ratings", "export", *map(str, runs), "--task", "meqsum", "--n", "4", "--raters", "2", "--out", str(tmp_path / "x")]
    refused = run_clue(*args)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "--allow-phi-export" in refused.stderr and not (tmp_path / "x").exists()
    ok = run_clue(*args, "--allow-phi-export")
    assert ok.returncode == 0, ok.stderr
    assert "owner-only" in ok.stdout
    for p in (tmp_path / "x").rglob("*"):
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o700 if p.is_dir() else 0o600), (p, oct(mode))
    html = next((tmp_path / "x").rglob("*.html")).read_text()
    assert "This sheet holds patient text" in html
    from openpyxl import load_workbook

    wb = load_workbook(next((tmp_path / "x").rglob("*.xlsx")))
    assert any("patient text" in str(c.value) for row in wb["rubric"].iter_rows() for c in row)
    # ratings stored for a credentialed task are owner-only too (notes may quote the record)
    key = json.loads((tmp_path / "x" / "key" / "key.json").read_text())
    for sid, sheet in key["sheets"].items():
        fill_csv(tmp_path / "x" / sheet["rater"] / f"{sid}.csv", key, lambda *a: 2)
    assert run_clue("ratings", "import", str(tmp_path / "x")).returncode == 0
    assert stat.S_IMODE(next((runs[0] / "ratings").glob("*.json")).stat().st_mode) == 0o600
    # runs from before the flag was recorded count as credentialed
    old = fake_runs(tmp_path / "old", recorded=False)
    proc = run_clue("ratings", "export", *map(str, old), "--task", "meqsum", "--n", "4", "--out", str(tmp_path / "y"))
    assert proc.returncode == 2 and "predate the credentialed flag" in proc.stderr


def test_user_errors_are_one_line(tmp_path: Path):
    runs = fake_runs(tmp_path / "runs")
    base = ["ratings", "export", *map(str, runs), "--raters", "2"]
    cases = {
        "not a generation task": [*base, "--task", "mednli", "--n", "1", "--out", str(tmp_path / "a")],
        "no task 'nosuch'": [*base, "--task", "nosuch", "--n", "1", "--out", str(tmp_path / "b")],
        "is more than the 30 item(s)": [*base, "--task", "meqsum", "--n", "31", "--out", str(tmp_path / "c")],
        "neither a bundled rubric nor a file": [*base, "--task", "meqsum", "--n", "2", "--rubric", "nope", "--out", str(tmp_path / "d")],
        "no key file found": ["ratings", "import", str(tmp_path / "runs")],
    }
    bad_rubric = tmp_path / "bad.yaml"
    bad_rubric.write_text("name: x\nscale: {min: 1, max: 4}\naxes: [{key: 'Bad Key'}]\n")
    cases["axis 1 needs a key"] = [*base, "--task", "meqsum", "--n", "2", "--rubric", str(bad_rubric), "--out", str(tmp_path / "e")]
    for expected, argv in cases.items():
        proc = run_clue(*argv)
        assert proc.returncode == 2, (expected, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and expected in proc.stderr, (expected, proc.stderr)
    export(tmp_path, runs, out="f")
    again = run_clue(*base, "--task", "meqsum", "--n", "2", "--out", str(tmp_path / "f"))
    assert again.returncode == 2 and "never overwritten" in again.stderr


def test_custom_rubric_file(tmp_path: Path):
    runs = fake_runs(tmp_path / "runs")
    rubric = tmp_path / "mine.yaml"
    rubric.write_text("name: mine\ntitle: Ward round\nscale: {min: 0, max: 2, labels: {0: no, 2: yes}}\n"
                      "axes: [{key: usable, label: Usable on the ward}]\n")
    out = export(tmp_path, runs, "--rubric", str(rubric), n=3)
    csv_head = next(out.rglob("*.csv")).read_text(encoding="utf-8-sig").splitlines()[0]
    assert csv_head.endswith("usable [0-2],notes")
    assert "Usable on the ward" in next(out.rglob("*.html")).read_text()


def test_cohen_kappa_exact_values():
    cats = [1, 2, 3]
    assert cohen_kappa([1, 2, 3, 1], [1, 2, 3, 1], cats) == pytest.approx(1.0)
    # 2×2 textbook case: po = 0.7, pe = 0.5 → κ = 0.4
    a = [1] * 5 + [1] * 0 + [2] * 5
    b = [1] * 4 + [2] * 1 + [2] * 3 + [1] * 2
    assert cohen_kappa(a, b, [1, 2]) == pytest.approx(0.4)
    # quadratic weights: disagreement 1 step apart weighs (1/2)^2 = 0.25 on a 3-point scale
    x, y = [1, 2, 3, 3], [2, 2, 3, 1]
    obs = np.zeros((3, 3))
    for i, j in zip(x, y):
        obs[i - 1, j - 1] += 0.25
    exp = np.outer(obs.sum(1), obs.sum(0))
    w = np.array([[((i - j) / 2) ** 2 for j in range(3)] for i in range(3)])
    assert cohen_kappa(x, y, cats, weights="quadratic") == pytest.approx(1 - (w * obs).sum() / (w * exp).sum())
    assert cohen_kappa([2, 2], [2, 2], cats) is None  # chance agreement already perfect: undefined
    m = np.array([[1, 2, 3, 3, np.nan], [1, 2, 3, 2, 2]], dtype=float)
    assert exact_agreement(m) == pytest.approx(3 / 4)
    assert krippendorff_alpha(np.array([[1, 2, 3, 4], [1, 2, 3, 4]], dtype=float), [1, 2, 3, 4]) == pytest.approx(1.0)
    assert krippendorff_alpha(np.array([[2, 2], [2, 2]], dtype=float), [1, 2, 3, 4]) is None


def test_quadratic_kappa_close_to_interval_alpha_for_many_units():
    rng = np.random.default_rng(0)
    truth = rng.integers(1, 5, size=2000)
    a = np.clip(truth + rng.integers(-1, 2, size=2000), 1, 4)
    b = np.clip(truth + rng.integers(-1, 2, size=2000), 1, 4)
    kq = cohen_kappa(list(a), list(b), [1, 2, 3, 4], weights="quadratic")
    alpha = krippendorff_alpha(np.vstack([a, b]).astype(float), [1, 2, 3, 4], level="interval")
    assert kq == pytest.approx(alpha, abs=0.01)


def test_scores_json_records_generation_and_credentialed(tmp_path: Path):
    proc = run_clue("run", "--engine", "baseline", "--synthetic", "--tasks", "meqsum,mednli", "--out", str(tmp_path / "r"),
                    "--store", str(tmp_path / "s.sqlite"), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    tasks = json.loads((tmp_path / "r" / "scores.json").read_text())["tasks"]
    assert tasks["meqsum"]["generation"] is True and tasks["meqsum"]["credentialed"] is False
    assert tasks["mednli"]["generation"] is False and tasks["mednli"]["credentialed"] is True
    assert os.path.exists(tmp_path / "r" / "samples.jsonl")


def test_excel_style_csv_semicolons_and_cp1252(tmp_path: Path):
    """Excel in many locales saves 'CSV' with ';' and the Windows code page: both are read."""
    runs = fake_runs(tmp_path / "runs")
    out = export(tmp_path, runs, n=3)
    key = json.loads((out / "key" / "key.json").read_text())
    sid, meta = next(iter(key["sheets"].items()))
    path = fill_csv(out / meta["rater"] / f"{sid}.csv", key, lambda *a: 4)
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    rows[1][-1] = "café au lait"
    with path.open("w", newline="", encoding="cp1252") as fh:
        csv.writer(fh, delimiter=";").writerows(rows)
    proc = run_clue("ratings", "import", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "imported 6 rated output(s)" in proc.stdout and "note: skipped" not in proc.stdout
    notes = [r["notes"] for run in runs for r in json.loads(next((run / "ratings").glob("*.json")).read_text())["ratings"]]
    assert "café au lait" in notes


def test_damaged_workbook_is_one_line(tmp_path: Path):
    runs = fake_runs(tmp_path / "runs")
    out = export(tmp_path, runs, n=2)
    next(out.rglob("*.xlsx")).write_bytes(b"PK\x03\x04 not really a workbook")
    proc = run_clue("ratings", "import", str(out))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2 and "not a readable workbook" in lines[0] and "nothing was stored" in lines[1]
