"""End to end: ``toolkit report`` on a small generated sample, twice, then broken on purpose.

One module-scoped pair of good runs feeds every check: the run folder contract, drift between
the runs, escaping of hostile user text and the browser test. Failure cases then check that a
failed, timed-out or badly configured run leaves the last good report where it was.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from toolkit import runs
from toolkit.config import SAMPLE_CONFIG
from toolkit.report import run_report

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("report")]

XSS = "<img src=x onerror=alert(1)>"
RUN_FILES = {
    "index.html",
    "run.json",
    "users.parquet",
    "segments.csv",
    "k_sweep.csv",
    "stability.csv",
    "profiles.csv",
    "findings.csv",
    "targets.csv",
    "personas.json",
    "personas.md",
    "personas.html",
    "segmenter.joblib",
}


def _small_config(folder: Path) -> Path:
    cfg = yaml.safe_load(SAMPLE_CONFIG.read_text(encoding="utf-8"))
    cfg["output"] = "reports"
    cfg.setdefault("notebooks", {}).setdefault("02-segments", {}).update(
        {"map_sample": 1000, "n_bootstrap": 5}
    )
    cfg["notebooks"].setdefault("03-personas", {}).update({"min_persona_size": 30})
    path = folder / "report.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def shop(small_sample_dir, tmp_path_factory):
    """A private copy of the small sample with a hostile comment planted, and its config."""
    folder = tmp_path_factory.mktemp("shop")
    for item in Path(small_sample_dir).iterdir():
        if item.is_file():
            shutil.copy(item, folder / item.name)
    survey = pd.read_csv(folder / "survey.csv", dtype=str, keep_default_na=False)
    survey.loc[survey.index[:3], "comment"] = XSS
    survey.to_csv(folder / "survey.csv", index=False)
    return _small_config(folder)


@pytest.fixture(scope="module")
def two_runs(shop):
    first = run_report(shop, progress=None)
    second = run_report(shop, progress=None)
    return first, second


def _cli(*args, timeout=900):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-m", "toolkit", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def test_good_runs_produce_the_run_folder_contract(two_runs):
    first, second = two_runs
    assert first.ok, first.record.get("error")
    assert second.ok, second.record.get("error")
    assert first.run_dir != second.run_dir
    present = {p.name for p in second.run_dir.iterdir()}
    assert RUN_FILES <= present, RUN_FILES - present
    for stem in ("01-explore", "02-segments", "03-personas"):
        assert f"{stem}.ipynb" in present and f"{stem}.html" in present
    record = json.loads((second.run_dir / "run.json").read_text())
    assert record["outcome"] == "ok"
    assert [nb["notebook"] for nb in record["notebooks"]] == [
        "01-explore",
        "02-segments",
        "03-personas",
    ]
    assert all(nb["seconds"] > 0 for nb in record["notebooks"])
    assert record["versions"]["pandas"] == pd.__version__
    assert runs.latest_run(second.run_dir.parent) == second.run_dir


def test_executed_notebooks_carry_injected_parameters_and_no_errors(two_runs):
    _, second = two_runs
    for stem in ("01-explore", "02-segments", "03-personas"):
        nb = nbformat.read(second.run_dir / f"{stem}.ipynb", as_version=4)
        tags = [tag for cell in nb.cells for tag in cell.metadata.get("tags", [])]
        assert "injected-parameters" in tags
        errors = [
            o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
        ]
        assert errors == []
        stderr = [o for c in nb.cells for o in c.get("outputs", []) if o.get("name") == "stderr"]
        assert stderr == [], f"{stem} shows stderr output (warnings belong in notes)"
        charts = [
            o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
        ]
        assert len(charts) >= MIN_CHARTS[stem], f"{stem} shows {len(charts)} charts"


MIN_CHARTS = {"01-explore": 3, "02-segments": 7, "03-personas": 0}


def test_segments_table_has_ids_segments_and_confidence(two_runs):
    _, second = two_runs
    segments = pd.read_csv(second.run_dir / "segments.csv", dtype={"user_id": str})
    users = pd.read_parquet(second.run_dir / "users.parquet")
    assert list(segments.columns[:3]) == ["user_id", "segment", "confidence"]
    assert len(segments) == len(users)
    assert segments["user_id"].str.len().eq(6).all()  # ids stay text, zero padding kept
    assert segments["confidence"].between(0, 1).all()


def test_second_run_finds_the_same_segments(two_runs):
    _, second = two_runs
    drift = second.record["drift"]
    assert drift["stayed_share"] >= 0.95
    assert drift["appeared"] == [] and drift["vanished"] == []
    index = (second.run_dir / "index.html").read_text()
    assert "Changes since the previous run" in index and "stayed in the matching segment" in index


def test_same_data_and_parameters_give_identical_outputs(two_runs):
    """Determinism across two scheduled runs, byte for byte where the format allows it."""
    first, second = two_runs
    for name in ("segments.csv", "profiles.csv", "findings.csv", "targets.csv", "personas.json"):
        a, b = (run.run_dir / name for run in (first, second))
        assert a.read_bytes() == b.read_bytes(), f"{name} differs between two identical runs"


def test_hostile_comment_is_text_never_markup(two_runs):
    _, second = two_runs
    for path in second.run_dir.glob("*.html"):
        html = path.read_text(encoding="utf-8")
        assert XSS not in html, f"{path.name} holds the raw <img onerror> markup"
    from toolkit.publish import check_run_html

    assert check_run_html(second.run_dir) == []


def test_reports_hold_no_personal_data(two_runs, shop):
    _, second = two_runs
    users = pd.read_csv(shop.parent / "users.csv", dtype=str)
    emails = set(users["email"])
    for path in list(second.run_dir.glob("*.html")) + [
        second.run_dir / "personas.json",
        second.run_dir / "personas.md",
    ]:
        text = path.read_text(encoding="utf-8")
        leaked = [e for e in list(emails)[:500] if e in text]
        assert leaked == [], f"{path.name} leaks {leaked[:3]}"


def test_failed_run_exits_non_zero_and_keeps_latest(two_runs, shop, tmp_path):
    _, second = two_runs
    broken = tmp_path / "broken"
    shutil.copytree(shop.parent, broken, ignore=shutil.ignore_patterns("reports"))
    survey = pd.read_csv(broken / "survey.csv", dtype=str, keep_default_na=False)
    survey.loc[survey.index[0], "trust"] = "9"  # outside the declared 1-5 scale
    survey.to_csv(broken / "survey.csv", index=False)
    out = second.run_dir.parent
    result = _cli("report", broken / "report.yaml", "--out", out)
    assert result.returncode == 1, result.stdout + result.stderr
    assert runs.latest_run(out) == second.run_dir
    failed = sorted(out.glob("*/run.json"), key=lambda p: p.stat().st_mtime)[-1]
    record = json.loads(failed.read_text())
    assert record["outcome"] == "failed" and "trust" in record["error"]
    assert (failed.parent / "01-explore.ipynb").exists()  # kept for debugging


def test_timeout_exits_non_zero_and_keeps_latest(two_runs, shop):
    _, second = two_runs
    out = second.run_dir.parent
    result = _cli("report", shop, "--out", out, "--timeout", "3")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "timed out" in result.stdout
    assert runs.latest_run(out) == second.run_dir


def test_bad_parameter_exits_2_before_running(two_runs, shop):
    _, second = two_runs
    out = second.run_dir.parent
    before = sorted(out.iterdir())
    result = _cli("report", shop, "--out", out, "-p", "n_segmnets", "4")
    assert result.returncode == 2
    assert "n_segmnets" in result.stderr and "n_segments" in result.stderr
    result = _cli("report", shop, "--out", out, "-p", "n_segments", "many")
    assert result.returncode == 2 and "n_segments" in result.stderr
    assert sorted(out.iterdir()) == before


@pytest.mark.browser
def test_report_pages_render_offline_in_chromium(two_runs, browser):
    from tests.browser import PageWatch, screenshot

    _, second = two_runs
    pages = sorted(second.run_dir.glob("*.html"))
    assert {p.name for p in pages} >= {
        "index.html",
        "01-explore.html",
        "02-segments.html",
        "03-personas.html",
        "personas.html",
    }
    for html in pages:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        watch = PageWatch(page, allowed_prefixes=("file://", "data:"))
        page.goto(html.as_uri(), wait_until="load")
        broken = page.evaluate(
            "Array.from(document.images)"
            ".filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 60))"
        )
        n_images = page.evaluate("document.images.length")
        screenshot(page, f"report-{html.stem}")
        page.close()
        assert broken == [], f"{html.name}: images that did not load: {broken}"
        assert watch.external == [], f"{html.name} requested other hosts: {watch.external}"
        assert watch.console_errors == [], f"{html.name}: console errors {watch.console_errors}"
        if html.stem in {"01-explore", "02-segments"}:
            assert n_images >= 3, f"{html.name} shows only {n_images} charts"
