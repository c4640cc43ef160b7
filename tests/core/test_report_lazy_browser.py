"""A report big enough that parts of it are rendered only when needed (clue/report/templates/report.html.j2 `lazy`):
sample texts beyond the first 100 rows, comparison pairs not picked, closed provenance details. In headless
Chromium: they are absent from the DOM at load and appear (as text, never as markup) when scrolled to, picked,
opened or printed; with scripting off every one of them shows as before. No console errors, no network.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from clue.perf.reporting import write_runs
from clue.report import build_report
from tests.core.test_report import XSS_IMG, XSS_SCRIPT
from tests.core.test_report_browser import CHROMIUM, chromium, evaluate, open_page, settle, wait_for_page, wait_ready

POISON = f"{XSS_SCRIPT} then {XSS_IMG}"
EAGER_ROWS = 100  # report.html.j2: sample rows whose texts are markup from the start
# the poisoned item: run02's MeQSum sample 0, listed far below the first EAGER_ROWS rows
ROW = ("Array.prototype.filter.call(document.querySelectorAll('#samples tbody tr'), function(r){"
       "return r.getAttribute('data-run') === 'run02' && r.getAttribute('data-task') === 'MeQSum' && "
       "r.cells[0].querySelector('.muted').textContent === 'SYNTHETIC-0'})[0]")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lazy")
    dirs = write_runs(root / "runs", 3, 30)
    samples = dirs[2] / "samples.jsonl"
    lines = [json.loads(x) for x in samples.read_text(encoding="utf-8").splitlines()]
    poisoned = next(s for s in lines if s["task"] == "meqsum" and s["sample_id"] == "SYNTHETIC-0")
    poisoned.update(output=POISON, raw_output=POISON)
    samples.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return build_report(dirs, root / "out", replicates=20, compare=[("run00", "run01"), ("run01", "run02")])


def errors_and_requests(events: list[dict], url: str) -> tuple[list[dict], list[str]]:
    errors = [e for e in events if e.get("method") == "Runtime.exceptionThrown"
              or (e.get("method") == "Runtime.consoleAPICalled" and e["params"].get("type") in ("error", "warning", "assert"))
              or (e.get("method") == "Log.entryAdded" and e["params"]["entry"].get("level") in ("error", "warning"))]
    requests = [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"]
    return errors, [u for u in requests if u != url]


def test_later_rows_pairs_and_details_are_markup_held_aside(report: Path):
    html = report.read_text(encoding="utf-8")
    listed = re.findall(r'<tr data-run="[^"]*" data-task="[^"]*" data-state="[^"]*"( class="lazy")?>', html)
    # the first rows carry their texts; the many others are held aside
    assert listed[:EAGER_ROWS] == [""] * EAGER_ROWS and len(listed) > 2 * EAGER_ROWS and set(listed[EAGER_ROWS:]) == {' class="lazy"'}
    # never nested: inside a held-aside block no other <noscript> opens (the first </noscript> would end the outer)
    for block in re.findall(r'<noscript class="lazy">(.*?)</noscript>', html, flags=re.S):
        assert "<noscript" not in block
    # the poisoned output sits in a held-aside block, escaped like any model text
    held = "".join(re.findall(r'<noscript class="lazy">(.*?)</noscript>', html, flags=re.S))
    assert "&lt;script&gt;" in held and "<script>alert" not in html


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (CI installs Debian chromium in .ci/run)")
def test_held_aside_parts_render_when_needed(report: Path, tmp_path: Path):
    url = report.resolve().as_uri()
    with chromium(tmp_path) as cdp:
        session = open_page(cdp, url)
        wait_ready(cdp, session)
        # at load: the poisoned row is listed (ids, status, scores) but its texts are not in the DOM
        assert evaluate(cdp, session, ROW + ".classList.contains('lazy')")
        assert evaluate(cdp, session, ROW + ".querySelectorAll('pre').length") == 0
        # scrolled to: its texts appear, as text
        evaluate(cdp, session, ROW + ".scrollIntoView()")
        wait_for_page(cdp, session, ROW + ".querySelector('noscript') === null && " + ROW + ".querySelector('pre') !== null",
                      "the sample row's texts rendered when scrolled to")
        assert evaluate(cdp, session, ROW + ".cells[3].querySelector('pre').textContent") == POISON
        assert evaluate(cdp, session, "document.scripts.length") == 1
        assert evaluate(cdp, session, "document.images.length + document.querySelectorAll('[onerror]').length") == 0
        # … while rows far from it stay unrendered
        assert evaluate(cdp, session, "document.querySelector('#samples tbody tr:last-child noscript.lazy') !== null")
        # the filters still count and hide every row, rendered or not
        wrong = evaluate(cdp, session, "document.querySelectorAll('#samples tbody tr[data-state~=\"wrong\"]').length")
        shown = evaluate(cdp, session, "(function(){var s=document.getElementById('f-state'); s.value='wrong';"
                                       "s.dispatchEvent(new Event('change'));"
                                       "return [document.querySelectorAll('#samples tbody tr:not(.hidden)').length,"
                                       " document.getElementById('f-count').textContent];})()")
        assert 0 < wrong and shown == [wrong, str(wrong)]
        # the second comparison pair: rendered when picked, the first hidden
        assert evaluate(cdp, session, "document.getElementById('cmp1').querySelector('table') === null")
        evaluate(cdp, session, "(function(){var s=document.getElementById('cmp-pick'); s.value='cmp1';"
                               "s.dispatchEvent(new Event('change'));})()")
        assert evaluate(cdp, session, "document.getElementById('cmp1').querySelector('h3').textContent") == "A = run01 · B = run02"
        assert evaluate(cdp, session, "document.getElementById('cmp1').querySelector('table') !== null")
        assert evaluate(cdp, session, "document.getElementById('cmp0').classList.contains('hidden')")
        # a closed provenance entry: rendered when opened
        second = "document.querySelectorAll('#provenance > details')[1]"
        assert evaluate(cdp, session, second + ".querySelector('.grid') === null")
        evaluate(cdp, session, second + ".open = true")
        wait_for_page(cdp, session, second + ".querySelector('.grid') !== null", "a provenance entry rendered when opened")
        assert "full run record (run.json)" in evaluate(cdp, session, second + ".textContent")
        # printing renders everything
        evaluate(cdp, session, "window.dispatchEvent(new Event('beforeprint'))")
        assert evaluate(cdp, session, "document.querySelectorAll('noscript').length") == 0
        assert evaluate(cdp, session, "document.images.length + document.querySelectorAll('[onerror]').length") == 0
        settle(cdp, session)
        errors, elsewhere = errors_and_requests(cdp.events, url)
        assert not errors and not elsewhere, (errors, elsewhere)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (CI installs Debian chromium in .ci/run)")
def test_without_scripting_everything_shows(report: Path, tmp_path: Path):
    url = report.resolve().as_uri()
    with chromium(tmp_path) as cdp:
        target = cdp.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = cdp.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            cdp.call(f"{domain}.enable", session=session)
        cdp.call("Emulation.setScriptExecutionDisabled", {"value": True}, session=session)
        cdp.events.clear()
        cdp.call("Page.navigate", {"url": url}, session=session)
        cdp.wait_event("Page.loadEventFired")
        assert evaluate(cdp, session, "document.documentElement.getAttribute('data-ready')") is None  # the script did not run
        assert evaluate(cdp, session, ROW + ".cells[3].querySelector('pre').textContent") == POISON  # the text, as text
        evaluate(cdp, session, ROW + ".scrollIntoView()")
        assert POISON in evaluate(cdp, session, ROW + ".innerText")  # shown (innerText: what is rendered)
        assert evaluate(cdp, session, "document.images.length + document.querySelectorAll('[onerror]').length") == 0
        assert evaluate(cdp, session, "document.getElementById('cmp1').querySelector('table') !== null")  # every pair
        assert evaluate(cdp, session, "document.querySelectorAll('#provenance > details')[2].querySelector('.grid') !== null")
        assert evaluate(cdp, session, "document.querySelectorAll('tbody tr').length") > 500


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (CI installs Debian chromium in .ci/run)")
def test_layout_checks_still_see_what_is_off_screen(report: Path, tmp_path: Path):
    """Frames and figures off screen are not laid out until near (content-visibility): the report browser test's layout
    checks must still catch a section overflowing and chart text cut off far below the first screen."""
    from tests.core.test_report_browser import CUT_TEXT, SECTIONS_HOLD

    html = report.read_text(encoding="utf-8")
    head = '<section id="provenance"><h2>Provenance</h2>'
    html = html.replace(head, head + '<div style="width:3000px">WIDE</div>')
    last = html.index("</svg>", html.rindex('<div class="chart"><svg'))
    html = html[:last] + '<text x="-500" y="-500">CUT-OFF</text>' + html[last:]
    bad = tmp_path / "bad.html"
    bad.write_text(html, encoding="utf-8")
    with chromium(tmp_path) as cdp:
        session = open_page(cdp, bad.resolve().as_uri())
        wait_ready(cdp, session)
        assert evaluate(cdp, session, "document.getElementById('provenance').getBoundingClientRect().top > 3 * innerHeight")
        assert evaluate(cdp, session, SECTIONS_HOLD) == ["provenance"]
        assert evaluate(cdp, session, CUT_TEXT) == ["CUT-OFF"]
