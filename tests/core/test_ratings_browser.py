"""A rater fills the offline HTML sheet in headless Chromium and saves it; the saved file imports; the report's
ratings section renders. Checks: the sheet's inline script runs under its CSP, nothing is fetched, no console
errors, "Save ratings" downloads <sheet>.ratings.json, "Load saved ratings" restores it. Screenshots go to the
test's tmp dir and /tmp/ratings-{sheet,report}-screenshot.png. Skips when chromium is absent.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_clue, until
from tests.core.ratings_fixtures import fake_runs
from tests.core.test_ratings import fill_csv, good_scores
from tests.core.test_report_browser import CHROMIUM, DevTools, chromium, copy_out, evaluate, open_page, settle, wait_for_page, wait_ready

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (CI installs Debian chromium in .ci/run)")


def screenshot(cdp: DevTools, session: str, selector: str, dest: list[Path]) -> bytes:
    box = evaluate(cdp, session, f"(function(){{var r=document.querySelector('{selector}').getBoundingClientRect();"
                                 "return {x: r.left + window.scrollX, y: r.top + window.scrollY, w: r.width, h: r.height};})()")
    shot = cdp.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                               "clip": {"x": box["x"], "y": box["y"], "width": box["w"],
                                                        "height": min(box["h"], 3000), "scale": 1}}, session=session)
    png = base64.b64decode(shot["data"])
    assert png.startswith(b"\x89PNG")
    for path in dest:
        copy_out(png, path)
    return png


def problems(events: list[dict], url: str) -> tuple[list, list]:
    errors = [e for e in events if e.get("method") == "Runtime.exceptionThrown"
              or (e.get("method") == "Runtime.consoleAPICalled" and e["params"].get("type") in ("error", "warning", "assert"))
              or (e.get("method") == "Log.entryAdded" and e["params"]["entry"].get("level") in ("error", "warning"))
              or e.get("method") == "Page.javascriptDialogOpening"]
    requests = [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"]
    return errors, [u for u in requests if u != url and not u.startswith("blob:")]


def test_rater_fills_the_html_sheet_in_chromium(tmp_path: Path):
    runs = fake_runs(tmp_path / "runs")
    out = tmp_path / "exp"
    proc = run_clue("ratings", "export", *map(str, runs), "--task", "meqsum", "--n", "6", "--seed", "3", "--raters", "2",
                    "--rubric", "clinicbench", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    key = json.loads((out / "key" / "key.json").read_text())
    (s1, m1), (s2, m2) = key["sheets"].items()
    score = good_scores(0)
    wanted = {f"{item}|{letter}|{axis}": score(run, key["items"][item], axis)
              for item, letters in m1["outputs"].items() for letter, run in letters.items()
              for axis in ("faithfulness", "comprehensiveness", "generalisation", "safety")}
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    sheet_url = (out / m1["rater"] / f"{s1}.html").resolve().as_uri()

    with chromium(tmp_path) as cdp:
        cdp.call("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads), "eventsEnabled": True})
        session = open_page(cdp, sheet_url)
        wait_ready(cdp, session)
        assert evaluate(cdp, session, "document.getElementById('progress').textContent") == "0 of 12 outputs fully rated"
        # click every radio button the way a rater would, and write one note
        clicked = evaluate(cdp, session, "(function(w){var n=0; Object.keys(w).forEach(function(k){"
                                         "var el=document.querySelector('input[name=\"'+k+'\"][value=\"'+w[k]+'\"]');"
                                         "if(el){el.click(); n+=1;}}); return n;})(" + json.dumps(wanted) + ")")
        assert clicked == len(wanted) == 48
        evaluate(cdp, session, "(function(){var t=document.querySelector('textarea[data-notes]'); t.value='BROWSER-NOTE';"
                               "t.dispatchEvent(new Event('change', {bubbles: true}));})()")
        assert evaluate(cdp, session, "document.getElementById('progress').textContent") == "12 of 12 outputs fully rated"
        screenshot(cdp, session, "body", [tmp_path / "sheet.png", Path("/tmp/ratings-sheet-screenshot.png")])
        evaluate(cdp, session, "document.getElementById('save').click()")
        saved = downloads / f"{s1}.ratings.json"
        until(saved.is_file, f"the download of {saved.name} (Chromium renames it into place when complete)")
        settle(cdp, session)
        errors, fetched = problems(cdp.events, sheet_url)
        assert not errors, errors
        assert not fetched, fetched
        # a fresh page restores the saved file through "Load saved ratings"
        session = open_page(cdp, sheet_url)
        wait_ready(cdp, session)
        doc = cdp.call("DOM.getDocument", {}, session=session)
        node = cdp.call("DOM.querySelector", {"nodeId": doc["root"]["nodeId"], "selector": "#load"}, session=session)
        cdp.call("DOM.setFileInputFiles", {"files": [str(saved)], "nodeId": node["nodeId"]}, session=session)
        wait_for_page(cdp, session, "document.getElementById('progress').textContent === '12 of 12 outputs fully rated'",
                      "the saved ratings restored")

    data = json.loads(saved.read_text())
    assert data["sheet"] == s1 and len(data["ratings"]) == 12
    returned = tmp_path / "returned"
    returned.mkdir()
    shutil.copy(saved, returned / saved.name)
    fill_csv(out / m2["rater"] / f"{s2}.csv", key, good_scores(1), dest=returned / f"{s2}.csv")
    imp = run_clue("ratings", "import", str(returned), "--key", str(out / "key" / "key.json"))
    assert imp.returncode == 0, imp.stderr
    stored = json.loads((runs[0] / "ratings" / f"{key['export']}.json").read_text())
    from_browser = [r for r in stored["ratings"] if r["rater"] == m1["rater"]]
    assert len(from_browser) == 6
    for r in from_browser:
        assert r["scores"]["safety"] == score(0, r["sample_id"], "safety")
    notes = [r["notes"] for run in runs for r in json.loads((run / "ratings" / f"{key['export']}.json").read_text())["ratings"]]
    assert notes.count("BROWSER-NOTE") == 1

    rep = run_clue("report", *map(str, runs), "--out", str(tmp_path / "rep"), "--bootstrap", "200")
    assert rep.returncode == 0, rep.stderr
    report_url = (tmp_path / "rep" / "index.html").resolve().as_uri()
    (tmp_path / "second").mkdir()
    with chromium(tmp_path / "second") as cdp:
        session = open_page(cdp, report_url)
        wait_ready(cdp, session)
        assert evaluate(cdp, session, "document.querySelectorAll('#ratings table').length") == 4
        assert evaluate(cdp, session, "document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        screenshot(cdp, session, "#ratings", [tmp_path / "ratings.png", Path("/tmp/ratings-report-screenshot.png")])
        settle(cdp, session)
        errors, fetched = problems(cdp.events, report_url)
        assert not errors, errors
        assert not fetched, fetched
