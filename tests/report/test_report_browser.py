"""The report opened in a real browser (headless Chromium): every image loads, tables render.

CI (.ci/run) installs Debian's chromium; locally the test skips when it is absent.
"""
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
  var b = document.body;
  b.setAttribute('data-images', imgs.length);
  b.setAttribute('data-broken', broken.length);
  b.setAttribute('data-tables', document.querySelectorAll('table').length);
  b.setAttribute('data-rows', document.querySelectorAll('td').length);
});
</script>"""


def _chromium(tmp_path, *args):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
           f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _probe(html, tmp_path):
    page = tmp_path / "probe.html"
    page.write_text(html.replace("</body>", _PROBE + "</body>"))
    out = _chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", page.as_uri())
    m = re.search(r'<body[^>]*data-images="(\d+)"[^>]*data-broken="(\d+)"[^>]*data-tables="(\d+)"'
                  r'[^>]*data-rows="(\d+)"', out.stdout)
    assert m, f"probe did not run; chromium said: {out.stderr[-2000:]}"
    return tuple(int(x) for x in m.groups())


def test_report_renders_in_chromium(handmade_run, tmp_path):
    index = build_report(handmade_run)
    html = index.read_text()
    n_img, n_broken, n_tables, n_cells = _probe(html, tmp_path)
    assert n_img == html.count("<img ") == 4
    assert n_broken == 0
    assert n_tables == html.count("<table") >= 9 and n_cells > 100
    # screenshot of the real page (no probe): written and not blank
    shot = tmp_path / "report.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,2400", index.as_uri())
    assert shot.is_file()
    import matplotlib.pyplot as plt

    pixels = plt.imread(shot)
    assert pixels.shape[0] >= 2000 and pixels.shape[1] >= 1100
    assert np.std(pixels[..., :3]) > 0.05  # text, tables and figures, not an empty page


def test_probe_detects_a_broken_image(handmade_run, tmp_path):
    html = build_report(handmade_run).read_text()
    broken = html.replace("</h1>", '</h1><img src="data:image/png;base64,AAAAbroken" alt="x">', 1)
    n_img, n_broken, _, _ = _probe(broken, tmp_path)
    assert n_img == 5 and n_broken == 1
