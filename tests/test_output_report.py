"""The HTML report and release site, rendered from fixture results files."""

import base64
import io
import json
from html.parser import HTMLParser

import matplotlib.image as mpimg
import pytest

from harness.output import report, site
from harness.record.model import from_doc, validate
from harness.record.units import fmt_value
from tests.conftest import run_cli
from tests.fixtures import make_doc, make_results


class Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.cells, self.scripts, self.stack = [], [], 0, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a["src"])
        if tag == "td" and "data-median" in a:
            self.cells.append(float(a["data-median"]))
        if tag == "script":
            self.scripts += 1


def parse(html):
    c = Collector()
    c.feed(html)
    c.close()
    return c


def decode_all(imgs):
    for src in imgs:
        assert src.startswith("data:image/png;base64,"), src[:40]  # embedded: no network needed
        arr = mpimg.imread(io.BytesIO(base64.b64decode(src.split(",", 1)[1])), format="png")
        assert arr.shape[0] > 50 and arr.shape[1] > 50


def test_full_report_has_images_and_matching_numbers():
    doc = make_doc()
    html = report.render_report([from_doc(validate(doc, "fixture"))])
    c = parse(html)
    assert len(c.imgs) >= 4 + 10  # rss spawn, rss live, rss vs conns, spectrum + dot plots
    decode_all(c.imgs)
    expected = []
    for scenario, key in report.headline_keys([make_results()]):
        for rt in ("go", "rust", "java"):
            b = next(b for b in doc["benchmarks"] if b["id"] == f"{scenario}/{rt}")
            expected.append(b["summary"][key]["median"])
    assert c.cells == pytest.approx(expected)
    first = next(b for b in doc["benchmarks"] if b["id"] == "spawn/go")["summary"]["tasks_per_sec"]["median"]
    assert fmt_value(first, "tasks/s") in html


def test_incomplete_emulated_and_missing_runtime_render_with_warnings():
    incomplete = make_results(status="interrupted")
    emulated = make_results(arch="arm64", emulated=True, runtimes=("go", "rust"))
    html = report.render_report([incomplete, emulated])
    c = parse(html)
    decode_all(c.imgs)
    assert "run status is &#39;interrupted&#39;" in html
    assert "EMULATED" in html and "never compare" in html
    assert "amd64 W=1 @ abc12345" in html and "arm64 (emulated) W=1 @ abc12345" in html
    rows = len(report.headline_keys([incomplete]))
    assert len(c.cells) == rows * 3 + rows * 2  # java missing on the arm64 side: shown as –


def test_hostile_strings_are_escaped():
    doc = make_doc(version_suffix="<script>alert(1)</script>")
    doc["warnings"] = ['<img src=x onerror="alert(2)">']
    html = report.render_report([from_doc(validate(doc, "fixture"))])
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x onerror" not in html
    assert parse(html).scripts == 0


def test_cli_report_and_publish_site(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(make_doc(seed=1)))
    b.write_text(json.dumps(make_doc(arch="arm64", emulated=True, seed=2)))
    p = run_cli("report", str(a), str(b), "--out", str(tmp_path / "r.html"))
    assert p.returncode == 0, p.stderr
    decode_all(parse((tmp_path / "r.html").read_text()).imgs)
    site = tmp_path / "site"
    a.write_text(json.dumps(make_doc(seed=1, scenarios=("spawn",))))  # publishing is what is checked now
    b.write_text(json.dumps(make_doc(arch="arm64", emulated=True, seed=2, scenarios=("spawn",))))
    for rel in ("v1.0.0", "v1.1.0", "v1.0.0"):  # the second v1.0.0 replaces the first
        p = run_cli("publish", str(a), str(b), "--release", rel, "--site", str(site))
        assert p.returncode == 0, p.stderr
    assert sorted(d.name for d in (site / "releases").iterdir()) == ["v1.0.0", "v1.1.0"]
    assert (site / "releases" / "v1.1.0" / "results" / "a.json").exists()
    index = (site / "index.html").read_text()
    listed = index[index.index("<h2>Releases</h2>") :]
    assert listed.index("v1.1.0") < listed.index("v1.0.0")  # newest first
    decode_all(parse(index).imgs)
    p = run_cli("publish", str(a), "--release", "../evil", "--site", str(site))
    assert p.returncode == 2 and "--release" in p.stderr


def test_site_of_100_releases_renders(tmp_path):
    site_dir = tmp_path / "site"
    doc = make_results(scenarios=("spawn",), trials=3)
    for i in range(100):  # write the per-release headline files directly; rendering is what we time
        rel = site_dir / "releases" / f"v1.{i}.0"
        rel.mkdir(parents=True)
        (rel / "headline.json").write_text(
            json.dumps({"release": f"v1.{i}.0", "labels": ["amd64"], "headline": site.headline_numbers([doc])})
        )
    site.render_index(site_dir)  # its speed is measured in benchmarks/, not asserted here
    html = (site_dir / "index.html").read_text()
    assert html.count('/index.html">v1.') == 100
    listed = html[html.index("<h2>Releases</h2>") :]
    assert listed.index("v1.99.0") < listed.index("v1.10.0") < listed.index("v1.9.0")  # version order, newest first


def test_floor_column_is_never_best_and_overloaded_rows_star_nobody():
    doc = make_results(floor=True, overloaded=("http/java",))
    cols, rows = report.headline_rows([doc])
    floor_col = next(i for i, c in enumerate(cols) if c["floor"])
    for row in rows:
        assert not (row["cells"][floor_col] or {}).get("best")
    p50 = next(r for r in rows if r["key"] == "latency_p50_ns")
    assert p50["cells"][floor_col] is not None  # the instrument's own p50 beside the servers'
    assert not any(c and c["best"] for c in p50["cells"])  # java overloaded: no runtime is starred
    java = next(i for i, c in enumerate(cols) if c["runtime"] == "java")
    assert p50["cells"][java]["flag"].startswith("overloaded in 5/5")
    rps = next(r for r in rows if r["key"] == "max_requests_per_sec")
    assert any(c and c["best"] for c in rps["cells"])  # saturate is not about the ramp's load: still starred
    html = report.render_report([doc])
    assert "floor (instrument)" in html and "overloaded in 5/5" in html and parse(html).scripts == 0


def test_summary_shows_the_floor_and_overloaded_stages(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(make_doc(floor=True, overloaded=("http/java",))))
    p = run_cli("summary", str(path))
    assert p.returncode == 0, p.stderr
    assert "floor" in p.stdout and "OVERLOADED (5/5)" in p.stdout and "overloaded in 5/5" in p.stdout
    assert "its latencies are not compared" in p.stdout
