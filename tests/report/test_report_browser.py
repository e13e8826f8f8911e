"""The report opened in a real browser (headless Chromium): every image loads, no table scrolls sideways.

CI (.ci/run) installs Debian's chromium; locally the test skips when it is absent.
"""
import html as htmllib
import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from eifer.report import build_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (CI installs it via .ci/run)")

# Injected into a copy of the page only: the report itself carries no script.
_PROBE = """<script>
window.addEventListener('load', function () {
  // folded sections (the per-segment HRV table, the changed settings) are measured unfolded
  var folds = document.querySelectorAll('details');
  for (var f = 0; f < folds.length; f++) folds[f].open = true;
  var imgs = document.images, broken = [];
  for (var i = 0; i < imgs.length; i++) {
    if (!imgs[i].complete || imgs[i].naturalWidth === 0) broken.push(i);
  }
  var wide = [], widths = [];
  var boxes = document.querySelectorAll('table, .tbl');
  for (var j = 0; j < boxes.length; j++) {
    var b = boxes[j];
    if (b.scrollWidth > b.clientWidth) wide.push(b.tagName + ' ' + b.scrollWidth + '>' + b.clientWidth);
    if (b.tagName === 'TABLE') widths.push(b.getBoundingClientRect().width);
  }
  var h = document.getElementById('run-vs-paper'), el = h, box = null;
  while (el && !box) {
    el = el.nextElementSibling;
    if (el) box = el.tagName === 'TABLE' ? el : el.querySelector('table');
  }
  var links = document.querySelectorAll('a[href^="#"]'), dead = [];
  for (var k = 0; k < links.length; k++) {
    if (!document.getElementById(links[k].getAttribute('href').slice(1))) dead.push(links[k].getAttribute('href'));
  }
  var doc = document.documentElement;
  var result = {images: imgs.length, broken: broken.length, tables: document.querySelectorAll('table').length,
                cells: document.querySelectorAll('td').length, inner: window.innerWidth,
                page_scroll: doc.scrollWidth > doc.clientWidth, wide: wide, widths: widths,
                content: document.body.clientWidth,
                caveat: document.body.innerText.indexOf("Caveat — the paper's tests over-reject") >= 0,
                glossary: document.getElementById('glossary') !== null,
                box: box ? Array.prototype.map.call(box.rows, function (r) {
                  return Array.prototype.map.call(r.cells, function (c) { return c.innerText; }); }) : null,
                toc: document.querySelectorAll('nav.toc a').length, dead_links: dead, folds: folds.length,
                num_right: Array.prototype.every.call(document.querySelectorAll('td.num'),
                  function (td) { return getComputedStyle(td).textAlign === 'right'; }),
                text_left: Array.prototype.every.call(document.querySelectorAll('td:not(.num)'),
                  function (td) { return getComputedStyle(td).textAlign === 'left'; })};
  document.body.setAttribute('data-probe', JSON.stringify(result));
});
</script>"""


def _chromium(tmp_path, *args):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
           f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _probe(html, tmp_path, width=1280):
    page = tmp_path / "probe.html"
    page.write_text(html.replace("</body>", _PROBE + "</body>"))
    out = _chromium(tmp_path, "--virtual-time-budget=5000", f"--window-size={width},1000", "--dump-dom",
                    page.as_uri())
    m = re.search(r'<body[^>]*data-probe="([^"]*)"', out.stdout)
    assert m, f"probe did not run; chromium said: {out.stderr[-2000:]}"
    return json.loads(htmllib.unescape(m.group(1)))


@pytest.mark.parametrize("width", [1280, 1920])
def test_report_fits_the_page_in_chromium(paper_run, tmp_path, width):
    index = build_report(paper_run)
    html = index.read_text()
    r = _probe(html, tmp_path, width)
    assert r["inner"] == width  # the window size took effect
    assert r["images"] == html.count("<img ") >= 5 and r["broken"] == 0
    assert r["tables"] == html.count("<table") >= 12 and r["cells"] > 100
    assert r["wide"] == [] and not r["page_scroll"], r["wide"]
    assert max(r["widths"]) <= r["content"]
    assert r["caveat"] and r["glossary"]
    assert r["num_right"] and r["text_left"]


def test_participants_page_in_chromium(paper_run, tmp_path):
    build_report(paper_run)
    page = paper_run.path("report", "participants.html")
    r = _probe(page.read_text(), tmp_path, 1280)
    assert r["images"] == 2 and r["broken"] == 0  # one figure per participant (P01, P02)
    assert r["wide"] == [] and not r["page_scroll"]
    assert not r["caveat"] and not r["glossary"]  # the probe's own text does not count as the page's


def test_report_screenshot(paper_run, tmp_path):
    index = build_report(paper_run)
    shot = tmp_path / "report.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2400", index.as_uri())
    assert shot.is_file()
    import matplotlib.pyplot as plt

    pixels = plt.imread(shot)
    assert pixels.shape[0] >= 2000 and pixels.shape[1] >= 1280
    assert np.std(pixels[..., :3]) > 0.05  # text, tables and figures, not an empty page


def test_probe_detects_a_broken_image(handmade_run, tmp_path):
    html = build_report(handmade_run).read_text()
    broken = html.replace("</h1>", '</h1><img src="data:image/png;base64,AAAAbroken" alt="x">', 1)
    r = _probe(broken, tmp_path)
    assert r["images"] == html.count("<img ") + 1 and r["broken"] == 1


def test_probe_detects_a_table_too_wide(handmade_run, tmp_path):
    """The old layout (page capped at 1100 px, cells never wrapping) is caught."""
    html = build_report(handmade_run).read_text()
    wide_row = "<tr>" + "".join(f"<td>{'x' * 30}_{k}</td>" for k in range(14)) + "</tr>"
    old = html.replace("max-width:1680px", "max-width:1100px").replace(
        "</tbody></table>", wide_row + "</tbody></table>", 1).replace(
        "vertical-align:top}", "vertical-align:top;white-space:nowrap}", 1)
    r = _probe(old, tmp_path, 1920)
    assert r["wide"]


# -- the report of a FULL demo run (tests/report/conftest.py: demo_run), as a user opens it ---------------


@pytest.mark.parametrize("width", [1280, 1920])
def test_demo_report_fits_and_loads_in_chromium(demo_run, tmp_path, width):
    index = build_report(demo_run)
    html = index.read_text()
    r = _probe(html, tmp_path, width)
    assert r["inner"] == width
    # Figures 4 and 7, HRV interactions, frame quality, ROC curves of direct, transfer and cv
    assert r["images"] == html.count("<img ") >= 7 and r["broken"] == 0
    assert r["tables"] == html.count("<table") >= 20
    assert r["wide"] == [] and not r["page_scroll"], r["wide"]
    assert max(r["widths"]) <= r["content"]
    assert r["toc"] >= 8 and r["dead_links"] == []
    # the per-segment HRV table is folded away (and was measured unfolded above)
    assert r["folds"] >= 2 and "Per participant × segment" in html
    # the run-vs-paper box, read from the demo config: it departs from the paper where the demo profile does
    box = {row[0]: row for row in r["box"][1:]}
    assert box["input size (Tables 2–4)"][2:] == ["64 px", "§3.3: 224 × 224 pixels", "differs"]
    assert box["repetitions"][2] == "3" and box["repetitions"][-1] == "differs"
    assert box["valence/arousal evaluator"][2].startswith("geometry")
    assert box["test frames per video (subsets)"][-1] == "same as the paper"
    assert "eifer_tinycnn" in box["alternative backbones (Tables 5–6)"][2]
    page = demo_run.path("report", "participants.html")
    p = _probe(page.read_text(), tmp_path, width)
    assert p["images"] >= 12 and p["broken"] == 0  # one figure per participant (12)
    assert p["wide"] == [] and not p["page_scroll"], p["wide"]


def test_run_vs_paper_box_of_a_paper_profile_run_in_chromium(tmp_path):
    """A run made with the paper profile: every row of the box says "same as the paper"."""
    from eifer.config import load_config
    from eifer.io import write_json
    from eifer.runfolder import RunFolder

    run = RunFolder(tmp_path / "paper", load_config(profile="paper")).init()
    write_json(run.path("study.json"), {"name": "paper profile", "path": str(tmp_path / "nostudy")})
    r = _probe(build_report(run).read_text(), tmp_path, 1280)
    rows = r["box"][1:]
    assert len(rows) >= 10 and all(row[-1] == "same as the paper" for row in rows), rows
    assert {row[0]: row for row in rows}["input size (Tables 2–4)"][2] == "224 px"
    assert r["wide"] == [] and r["dead_links"] == []
