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
  var doc = document.documentElement;
  var result = {images: imgs.length, broken: broken.length, tables: document.querySelectorAll('table').length,
                cells: document.querySelectorAll('td').length, inner: window.innerWidth,
                page_scroll: doc.scrollWidth > doc.clientWidth, wide: wide, widths: widths,
                content: document.body.clientWidth,
                caveat: document.body.innerText.indexOf("Caveat — the paper's tests over-reject") >= 0,
                glossary: document.getElementById('glossary') !== null,
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
