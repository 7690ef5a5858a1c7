"""What a reviewer does after a submission period: import the documents with
`jixiao import`, then `jixiao export` a report, a workbook and a Fiscal Data
Package — against the live server at $JIXIAO_ADDR. The report is opened in
headless Chromium (Debian's /usr/bin/chromium, driven by Playwright): it must
render its charts and table with no console error, and yield a screenshot.
The package is validated against the Fiscal Data Package profile."""

import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JIXIAO = os.environ.get("JIXIAO_BIN", str(ROOT / "target" / "debug" / "jixiao"))
ADDR = "http://" + os.environ.get("JIXIAO_ADDR", "127.0.0.1:50051")
SAMPLES = ROOT / "crates" / "jixiao-parse" / "tests" / "samples"
# A tenant of its own, so other tests' forms do not mix in.
TENANT = "湖南省/报告"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def jixiao(*args):
    out = subprocess.run([JIXIAO, *args, "--addr", ADDR], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    printed = jixiao("import", str(SAMPLES / "zhuzhou-gxj-2024.txt"), str(SAMPLES / "yueyang-gxj-2023.txt"),
                     "--tenant", TENANT)
    assert "37 forms stored" in printed, printed
    files = {}
    for fmt, name in [("html", "report.html"), ("xlsx", "forms.xlsx"), ("fdp", "amounts.zip"), ("csv", "forms.csv")]:
        path = out / name
        jixiao("export", "--format", fmt, "--out", str(path), "--tenant", TENANT)
        files[fmt] = path
    return files


def test_report_renders_in_chromium_without_errors(exported, tmp_path):
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"Chromium is required at {CHROMIUM} (Debian package chromium)"
    html = exported["html"].read_text(encoding="utf-8")
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    problems, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(exported["html"].as_uri())
        page.wait_for_load_state("load")

        # Every chart drew its bars, and the table has all 37 forms.
        for chart in ["grades", "inflation", "rules", "execution"]:
            box = page.locator(f"#chart-{chart} svg").bounding_box()
            assert box and box["width"] > 100 and box["height"] > 20, chart
            assert page.locator(f"#chart-{chart} rect").count() >= 2, chart
        rows = page.locator("#forms tbody tr.form")
        assert rows.count() == 37
        assert page.locator("#shown").inner_text() == "37 张"
        # The filter box narrows the table to one city's forms.
        page.fill("#filter", "岳阳")
        visible = sum(1 for i in range(rows.count()) if rows.nth(i).is_visible())
        assert visible == 16
        page.fill("#filter", "")
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert problems == [], problems
    assert all(u.startswith("file://") for u in requests), requests
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_workbook_is_an_xlsx_with_the_reviewer_sheets(exported):
    with zipfile.ZipFile(exported["xlsx"]) as z:
        workbook = z.read("xl/workbook.xml").decode("utf-8")
    for sheet in ["汇总", "评分", "问题"]:
        assert f'name="{sheet}"' in workbook
    assert workbook.count("<sheet ") == 3 + 37


def test_fiscal_data_package_is_valid_and_its_amounts_add_up(exported, tmp_path):
    from datapackage import Package, Profile

    with zipfile.ZipFile(exported["fdp"]) as z:
        z.extractall(tmp_path)
    descriptor = json.loads((tmp_path / "datapackage.json").read_text(encoding="utf-8"))
    Profile("fiscal-data-package").validate(descriptor)  # raises on any violation
    package = Package(descriptor, base_path=str(tmp_path))
    assert package.valid, package.errors
    rows = package.get_resource("amounts").read(keyed=True)
    phases = {m: descriptor["model"]["measures"][m]["phase"] for m in ("approved", "adjusted", "executed")}
    assert phases == {"approved": "approved", "adjusted": "adjusted", "executed": "executed"}
    # The totals rows against the CSV export's 全年预算数 / 全年执行数, form by form.
    import csv
    import io
    from decimal import Decimal

    forms = list(csv.DictReader(io.StringIO(exported["csv"].read_text(encoding="utf-8-sig"))))
    assert len(forms) == 37
    totals = {r["submission_id"]: r for r in rows if r["fund_source"] == "total"}
    for f in forms:
        if not f["全年预算数"]:
            continue
        t = totals[f["submission_id"]]
        assert t["adjusted"] == Decimal(f["全年预算数"]), f["submission_id"]
        assert t["executed"] == Decimal(f["全年执行数"]), f["submission_id"]
