"""The segment explorer and the persona editor (:mod:`toolkit.widgets`).

Driven through their widgets outside a kernel (ipywidgets works without a frontend): controls,
what a refit reuses, the drill-down, errors in the status line, the config export and the
persona overrides. Then the static fallback under papermill, the real ``toolkit report``
reproducing the explorer's segments from its exported settings, and every real dataset.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import ipywidgets as w
import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml

from toolkit import segmentation
from toolkit._widgets_config import set_notebook_parameters, static_display
from toolkit.errors import ConfigError
from toolkit.load import load_audience
from toolkit.segmentation import METHODS, segment_customers
from toolkit.widgets import persona_editor, segment_explorer

pytestmark = pytest.mark.filterwarnings("ignore::toolkit.errors.DataWarning")

START = {
    "bases": ("demographic", "behaviour"),
    "method": "kmeans",
    "n_segments": 0,
    "random_state": 0,
}
PNG = b"\x89PNG\r\n\x1a\n"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
XSS = "<img src=x onerror=alert(1)>"


# --------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------
def _copy_sample(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for item in Path(src).iterdir():
        if item.is_file():
            shutil.copy(item, dst / item.name)
    return dst / "report.yaml"


@pytest.fixture(scope="module")
def shop(small_sample_dir, tmp_path_factory) -> Path:
    """A private copy of the 1,500-user sample; returns its report config."""
    return _copy_sample(small_sample_dir, tmp_path_factory.mktemp("widgets_shop"))


@pytest.fixture(scope="module")
def audience(shop):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_audience(shop)


@pytest.fixture(scope="module")
def shared_explorer(audience, shop):
    return segment_explorer(audience, config=shop, static=False, map_method="pca")


@pytest.fixture
def explorer(shared_explorer):
    """The module's explorer, back at its first settings (a cached result: instant)."""
    shared_explorer.refit(**START)
    shared_explorer.select(1)
    return shared_explorer


class Counter:
    """Counts calls of a function patched in place."""

    def __init__(self, monkeypatch, owner, name):
        self.calls = 0
        original = getattr(owner, name)

        def counted(*args, **kwargs):
            self.calls += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)


# --------------------------------------------------------------------------------------------
# the segmentation cache behind the explorer
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "method, extra",
    [("kmeans", {}), ("kmeans", {"sweep_sample": 800}), ("ward", {}), ("kprototypes", {})],
)
def test_fit_cache_gives_the_segments_of_a_plain_fit(audience, method, extra):
    cache = segmentation.FitCache(defer_sweep=True)
    table, columns = audience.table, audience.columns
    for k in (4, "auto", 3):  # 4 before its sweep ran: only that fit of the sweep is made
        plain = segment_customers(
            table, columns, n_segments=k, method=method, random_state=3, **extra
        )
        cached = segment_customers(
            table, columns, n_segments=k, method=method, random_state=3, cache=cache, **extra
        )
        np.testing.assert_array_equal(cached.labels_, plain.labels_)
        np.testing.assert_array_equal(cached.confidence_, plain.confidence_)
        np.testing.assert_array_equal(cached.cluster_centers_, plain.cluster_centers_)
        assert cached.n_segments_ == plain.n_segments_
        if k == "auto" or k == 3:  # the sweep is known from here on
            pd.testing.assert_frame_equal(cached.k_sweep_, plain.k_sweep_)
            assert cached.recommended_reason_ == plain.recommended_reason_
        else:
            assert cached.k_sweep_.empty


# --------------------------------------------------------------------------------------------
# controls and state
# --------------------------------------------------------------------------------------------
def test_controls_cover_bases_method_segments_and_seed(explorer):
    ui = explorer.ui
    assert isinstance(explorer.widget, w.VBox)
    assert isinstance(ui.bases, w.SelectMultiple)
    values = [v for _, v in ui.bases.options]
    assert {"demographic", "behaviour", "opinion", "outcome", "age", "sessions"} <= set(values)
    assert "comment" not in values and "user_id" not in values  # text and id never segment
    assert ui.bases.value == ("demographic", "behaviour")
    assert isinstance(ui.method, w.Dropdown) and list(ui.method.options) == list(METHODS)
    assert isinstance(ui.k_slider, w.IntSlider)
    assert (ui.k_slider.min, ui.k_slider.value) == (0, 0)  # 0 = by evidence
    assert ui.k_slider.continuous_update is False and ui.seed.continuous_update is False
    k = explorer.n_segments_shown
    assert (
        k >= 2 and f"{k} segments" in ui.status.value and f"{k} segments" in explorer.status_text
    )
    for image in (ui.map, ui.sizes, ui.heatmap, ui.outcomes):
        assert bytes(image.value).startswith(PNG)


def test_shown_segments_are_those_of_the_library(explorer, audience):
    explorer.refit(n_segments=4, method="gmm", random_state=3, bases=("behaviour", "age"))
    direct = segment_customers(
        audience.table,
        audience.columns,
        n_segments=4,
        method="gmm",
        bases=["behaviour", "age"],
        random_state=3,
    )
    assert explorer.n_segments_shown == 4
    np.testing.assert_array_equal(explorer.segmenter.labels_, direct.labels_)
    pd.testing.assert_frame_equal(explorer.segments, direct.segments_table(audience.table))
    assert explorer.segments.columns.tolist() == ["user_id", "segment", "confidence"]


def test_controls_refit_without_redoing_unrelated_work(explorer, monkeypatch):
    ui = explorer.ui
    sweeps = Counter(monkeypatch, segmentation.Segmenter, "_sweep")
    prepares = Counter(monkeypatch, segmentation.FeaturePreparer, "fit_transform")
    import toolkit.embedding

    embeds = Counter(monkeypatch, toolkit.embedding, "embed_map")
    first, map_before = explorer.segmenter, explorer.segment_map
    auto_k = explorer.n_segments_shown
    k = 3 if auto_k != 3 else 4

    ui.k_slider.value = k  # the sweep is cached: no sweep, no preparation, no new map
    assert explorer.n_segments_shown == k and f"{k} segments" in ui.status.value
    assert (sweeps.calls, prepares.calls, embeds.calls) == (0, 0, 0)
    map_after = explorer.segment_map
    pd.testing.assert_frame_equal(map_after[["x", "y"]], map_before[["x", "y"]])
    assert not map_after["segment"].equals(map_before["segment"])  # recoloured

    ui.seed.value = 5  # fixed k: only that k's fit of the new seed's sweep
    assert explorer.settings.random_state == 5 and explorer.n_segments_shown == k
    assert (sweeps.calls, prepares.calls, embeds.calls) == (0, 0, 0)

    ui.bases.value = ("behaviour",)  # new bases: prepared and embedded once
    assert explorer.segmenter.base_columns_ == explorer.audience.columns_with_role("behaviour")
    assert (sweeps.calls, prepares.calls, embeds.calls) == (0, 1, 1)

    explorer.refit(**START)  # back: the kept result, nothing recomputed
    assert explorer.segmenter is first and ui.k_slider.value == 0
    assert (sweeps.calls, prepares.calls, embeds.calls) == (0, 1, 1)


def test_slider_skips_one_segment(explorer):
    slider = explorer.ui.k_slider
    slider.value = 1  # from auto up: 2 segments
    assert slider.value == 2 and explorer.n_segments_shown == 2
    slider.value = 1  # from 2 down: back to auto
    assert slider.value == 0 and explorer.settings.n_segments == 0


def test_same_settings_give_the_same_segments(audience):
    a = segment_explorer(audience, static=True, map_method="pca", n_segments=3, random_state=4)
    b = segment_explorer(audience, static=True, map_method="pca", n_segments=3, random_state=4)
    pd.testing.assert_frame_equal(a.segments, b.segments)
    assert a.drill_down(2) == b.drill_down(2)


def test_refit_errors_show_in_the_status_line(explorer):
    before = explorer.segments
    explorer.refit(method="kprototypes", bases=("events", "sessions"))  # nothing categorical
    assert explorer.error and "categorical" in explorer.error
    assert "Could not refit" in explorer.ui.status.value
    assert explorer.segments is before and explorer.settings.method == "kmeans"
    assert explorer.ui.method.value == "kmeans"  # the controls show what is shown
    explorer.refit(n_segments=3)
    assert explorer.error is None and "Could not refit" not in explorer.ui.status.value


def test_hdbscan_on_a_tiny_table_is_reported_not_raised(audience):
    tiny = dataclasses.replace(audience, table=audience.table.head(40).reset_index(drop=True))
    explorer = segment_explorer(tiny, static=False, map_method="pca", n_segments=2)
    explorer.ui.method.value = "hdbscan"  # finds no dense group in 40 users
    assert "found no segment" in explorer.error
    text = explorer.ui.status.value
    assert "Could not refit" in text and "2 segments" in text and "Traceback" not in text
    assert explorer.n_segments_shown == 2 and explorer.ui.method.value == "kmeans"


def test_unknown_setting_is_a_config_error(explorer):
    with pytest.raises(ConfigError, match="n_clusters"):
        explorer.refit(n_clusters=3)


# --------------------------------------------------------------------------------------------
# drill-down
# --------------------------------------------------------------------------------------------
def test_drill_down_profile_outcomes_sentences_and_persona(explorer, audience):
    from toolkit.personas import build_personas, names_in_data

    explorer.ui.segment.value = 2
    assert explorer.selected_segment == 2
    html = explorer.ui.drill.value
    assert html == explorer.drill_down(2)
    assert "Segment 2 · " in html and "Profile against the whole audience" in html
    assert "Conversion" in html  # outcomes
    sentences = explorer.findings.query("segment == 2")["sentence"].tolist()
    assert sentences and all(_escaped(s) in html for s in sentences[:3])
    # the preview is the persona the report would write (all segments, same inputs)
    personas = build_personas(
        audience.table,
        explorer.segments,
        audience.columns,
        explorer.profiles,
        explorer.findings,
        explorer.outcomes,
        explorer.targets,
        all_segments=True,
        forbidden_names=names_in_data(audience.spec),
    )
    name = personas.by_segment(2).name
    assert 'class="pc-card"' in html and _escaped(name) in html
    assert explorer.personas.by_segment(2).name == name


def _escaped(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def test_comments_are_scrubbed_and_escaped(explorer, audience):
    table = audience.table.copy()
    table["comment"] = [
        f"{XSS} write to jane.doe{i}@example.com, my name is Lena" for i in range(len(table))
    ]
    hostile = dataclasses.replace(audience, table=table)
    other = segment_explorer(hostile, static=True, segmenter=explorer.segmenter, map_method="pca")
    pd.testing.assert_frame_equal(other.segments, explorer.segments)  # comments are no base
    html = other.drill_down(1)
    assert "What they say" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert XSS not in html and "@example.com" not in html and "[email]" in html
    from toolkit.privacy import check_html_safe

    assert check_html_safe(html) == []


# --------------------------------------------------------------------------------------------
# export
# --------------------------------------------------------------------------------------------
def _merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def test_config_snippet_is_a_valid_report_config(explorer, shop, tmp_path):
    from toolkit.report import load_report_config

    explorer.refit(n_segments=5, random_state=2, bases=("behaviour", "age"))
    snippet = explorer.config_snippet()
    assert explorer.ui.snippet.value == snippet
    params = yaml.safe_load(snippet)["notebooks"]["02-segments"]
    assert params == {
        "n_segments": 5,
        "method": "kmeans",
        "bases": ["behaviour", "age"],
        "random_state": 2,
        "k_min": 2,
        "k_max": 10,
    }
    folder = tmp_path / "cfg"
    cfg = _copy_sample(shop.parent, folder)
    merged = _merge(yaml.safe_load(cfg.read_text()), yaml.safe_load(snippet))
    cfg.write_text(yaml.safe_dump(merged, sort_keys=False))
    loaded = load_report_config(cfg).notebook_parameters["02-segments"]
    assert {k: loaded[k] for k in params} == params

    saved = _copy_sample(shop.parent, tmp_path / "saved")
    original = saved.read_text()
    explorer.save_config(saved)
    text = saved.read_text()
    assert "# 0 = choose the number of segments by evidence" in text  # comments kept
    assert yaml.safe_load(text) == _merge(yaml.safe_load(original), yaml.safe_load(snippet))

    button = _copy_sample(shop.parent, tmp_path / "button")
    explorer.config, keep = button, explorer.config
    try:
        explorer.ui.save.click()
    finally:
        explorer.config = keep
    assert "Saved to report.yaml" in explorer.ui.save_status.value
    assert yaml.safe_load(button.read_text())["notebooks"]["02-segments"]["n_segments"] == 5


def test_config_edits_keep_comments_and_fall_back_to_a_rewrite(tmp_path):
    cfg = tmp_path / "report.yaml"
    text = "# top\ndata: {}  # spec\nnotebooks:\n  02-segments:\n    method: ward  # m\n"
    cfg.write_text(text)
    assert set_notebook_parameters(cfg, "02-segments", {"method": "gmm", "bases": ("age",)})
    assert cfg.read_text() == text.replace("ward", "gmm") + "    bases: [age]\n"
    before = cfg.stat().st_mtime_ns
    assert not set_notebook_parameters(cfg, "02-segments", {"method": "gmm"})  # no change
    assert cfg.stat().st_mtime_ns == before
    set_notebook_parameters(cfg, "03-personas", {"persona_overrides": {2: {"name": "Ada"}}})
    assert "# top" in cfg.read_text()
    assert yaml.safe_load(cfg.read_text())["notebooks"]["03-personas"] == {
        "persona_overrides": {2: {"name": "Ada"}}
    }
    cfg.write_text("data: {}\nnotebooks: {02-segments: {method: ward}}\n")  # flow style
    set_notebook_parameters(cfg, "02-segments", {"n_segments": 4})
    assert yaml.safe_load(cfg.read_text()) == {
        "data": {},
        "notebooks": {"02-segments": {"method": "ward", "n_segments": 4}},
    }
    with pytest.raises(ConfigError, match="does not exist"):
        set_notebook_parameters(tmp_path / "missing.yaml", "02-segments", {"n_segments": 4})


# --------------------------------------------------------------------------------------------
# persona editor
# --------------------------------------------------------------------------------------------
def _photo(path: Path) -> None:
    from matplotlib.figure import Figure

    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(0.4, 0.4))
    fig.add_subplot().plot([0, 1], [1, 0])
    fig.savefig(path, format="png", dpi=20)


def test_persona_editor_previews_and_saves_overrides(explorer, audience, shop, tmp_path):
    from toolkit.personas import build_personas

    cfg = _copy_sample(shop.parent, tmp_path / "edit")
    original = cfg.read_text()
    _photo(tmp_path / "edit" / "photos" / "ada.png")
    personas = explorer.personas
    editor = persona_editor(personas, config=cfg, static=False)
    seg = personas[0].segment
    old_name = personas[0].name
    fields, card = editor.ui["fields"][seg], editor.ui["cards"][seg]
    assert isinstance(fields["name"], w.Text) and old_name in card.value

    fields["name"].value = "Ada Probe"
    fields["headline"].value = "Plans every purchase & compares <prices>"
    fields["photo"].value = "photos/ada.png"
    assert "Ada Probe" in card.value
    about = editor.persona(seg).about  # the about text names the persona
    assert not re.search(rf"(?<!\w){re.escape(old_name)}(?!\w)", about)
    assert "compares &lt;prices&gt;" in card.value and "data:image/png;base64," in card.value
    assert personas[0].name == old_name  # the input is not changed

    fields["name"].value = ""  # refused
    assert editor.error and "name" in editor.error and editor.persona(seg).name == "Ada Probe"

    editor.ui["save"].click()
    assert "Saved to report.yaml" in editor.ui["status"].value
    text = cfg.read_text()
    assert "# 0 = choose the number of segments by evidence" in text  # the rest is kept
    saved = yaml.safe_load(text)
    overrides = saved["notebooks"]["03-personas"]["persona_overrides"]
    assert overrides == {
        seg: {
            "name": "Ada Probe",
            "photo": "photos/ada.png",
            "headline": "Plans every purchase & compares <prices>",
        }
    }
    rest = yaml.safe_load(original)
    rest["notebooks"]["03-personas"]["persona_overrides"] = overrides
    assert saved == rest

    rebuilt = build_personas(
        audience.table,
        explorer.segments,
        audience.columns,
        explorer.profiles,
        explorer.findings,
        explorer.outcomes,
        explorer.targets,
        all_segments=True,
        overrides=overrides,
    )
    p = rebuilt.by_segment(seg)
    assert (p.name, p.photo, p.headline) == (
        "Ada Probe",
        "photos/ada.png",
        "Plans every purchase & compares <prices>",
    )

    fields["photo"].value = "photos/missing.png"  # cannot be read: the card leaves it out
    assert "not found" in editor.error and "data:image/png" not in card.value
    with pytest.raises(ConfigError, match="missing.png"):
        editor.save()


def test_persona_editor_merges_with_overrides_already_in_the_config(explorer, shop, tmp_path):
    cfg = _copy_sample(shop.parent, tmp_path / "merge")
    set_notebook_parameters(
        cfg, "03-personas", {"persona_overrides": {"segment 1": {"about": "Kept."}}}
    )
    personas = explorer.personas
    editor = persona_editor(personas, config=cfg, static=True)
    editor.set(personas[0].segment, name="Zoe Probe")
    editor.save()
    saved = yaml.safe_load(cfg.read_text())["notebooks"]["03-personas"]["persona_overrides"]
    assert saved[1]["about"] == "Kept."
    assert saved[personas[0].segment]["name"] == "Zoe Probe"
    assert editor._ui is None  # static: no widget was made


# --------------------------------------------------------------------------------------------
# static fallback
# --------------------------------------------------------------------------------------------
def test_static_is_detected_outside_a_kernel(monkeypatch):
    monkeypatch.delenv("TOOLKIT_WIDGETS", raising=False)
    assert static_display(None) is True
    monkeypatch.setenv("TOOLKIT_WIDGETS", "interactive")
    assert static_display(None) is False
    assert static_display(True) is True


STATIC_NOTEBOOK = [
    "config = ''  # parameter",
    "import warnings\nwarnings.simplefilter('ignore')\n"
    "from toolkit.load import load_audience\n"
    "from toolkit.widgets import segment_explorer, persona_editor\n"
    "audience = load_audience(config)",
    "explorer = segment_explorer(audience, config=config, map_method='pca', n_segments=3)\n"
    "explorer",
    "assert explorer.static and explorer._ui is None\n"
    "persona_editor(explorer.personas, config=config)",
]


def test_explorer_is_static_under_papermill(shop, tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in STATIC_NOTEBOOK]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    src, out = tmp_path / "explore.ipynb", tmp_path / "explore.out.ipynb"
    nbformat.write(nb, src)
    env = {k: v for k, v in os.environ.items() if k != "TOOLKIT_WIDGETS"}
    env["MPLBACKEND"] = "Agg"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "papermill",
            str(src),
            str(out),
            "-p",
            "config",
            str(shop),
            "--kernel",
            "python3",
            "--cwd",
            str(tmp_path),
            "--log-level",
            "WARNING",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    done = json.loads(out.read_text(encoding="utf-8"))
    outputs = [o for c in done["cells"] for o in c.get("outputs", [])]
    kinds = {k for o in outputs for k in o.get("data", {})}
    assert "image/png" in kinds and "text/html" in kinds
    assert WIDGET_VIEW not in kinds
    assert "widgets" not in done["metadata"]
    html = "".join("".join(o["data"].get("text/html", "")) for o in outputs if "data" in o)
    assert "3 segments" in html and 'class="pc-card"' in html
    assert "notebooks:" in "".join(
        "".join(o["data"].get("text/markdown", "")) for o in outputs if "data" in o
    )
    from nbconvert import HTMLExporter

    page, _ = HTMLExporter().from_notebook_node(nbformat.read(out, as_version=4))
    assert "data:image/png;base64" in page and "widget-view" not in page


# --------------------------------------------------------------------------------------------
# the report reproduces the explorer's segments
# --------------------------------------------------------------------------------------------
EXPORTED = {"n_segments": 4, "bases": ("behaviour", "age", "gender"), "random_state": 7}


@pytest.fixture(scope="module")
def report_from_snippet(shared_explorer, shop, tmp_path_factory):
    """Run ``toolkit report`` (CLI) once with the explorer's exported settings applied to a
    copy of the config; the explorers are switched on in the segments notebook too."""
    shared_explorer.refit(**{**START, **EXPORTED})
    expected = shared_explorer.segments.copy()
    snippet = shared_explorer.config_snippet()
    folder = tmp_path_factory.mktemp("widgets_report")
    cfg = _copy_sample(shop.parent, folder)
    raw = _merge(yaml.safe_load(cfg.read_text()), yaml.safe_load(snippet))
    raw["output"] = "reports"
    raw["notebooks"]["02-segments"].update(
        {"map_sample": 1000, "n_bootstrap": 5, "show_explorers": True, "map_method": "pca"}
    )
    raw["notebooks"].setdefault("03-personas", {})["min_persona_size"] = 30
    cfg.write_text(yaml.safe_dump(raw, sort_keys=False))
    env = {k: v for k, v in os.environ.items() if k != "TOOLKIT_WIDGETS"}
    env["MPLBACKEND"] = "Agg"
    run = subprocess.run(
        [sys.executable, "-m", "toolkit", "report", str(cfg), "--out", str(folder / "out")],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    run_dirs = sorted(p for p in (folder / "out").glob("*") if (p / "run.json").exists())
    return run, run_dirs[-1] if run_dirs else None, expected, snippet


@pytest.mark.slow
@pytest.mark.xdist_group("widgets_report")
def test_report_reproduces_the_explorers_segments(report_from_snippet):
    run, run_dir, expected, snippet = report_from_snippet
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "n_segments: 4" in snippet and "random_state: 7" in snippet
    got = pd.read_csv(run_dir / "segments.csv", dtype={"user_id": str})
    assert got["user_id"].tolist() == expected["user_id"].tolist()
    np.testing.assert_array_equal(got["segment"].to_numpy(), expected["segment"].to_numpy())
    np.testing.assert_allclose(got["confidence"], expected["confidence"], rtol=0, atol=1e-12)
    assert got["segment"].nunique() == 4


@pytest.mark.slow
@pytest.mark.xdist_group("widgets_report")
def test_report_shows_the_explorer_as_figures(report_from_snippet):
    run, run_dir, _, _ = report_from_snippet
    assert run.returncode == 0, run.stderr[-3000:]
    nb = json.loads((run_dir / "02-segments.ipynb").read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if "".join(c["source"]).startswith("if show_explorers"))
    kinds = {k for o in cell["outputs"] for k in o.get("data", {})}
    assert "image/png" in kinds and WIDGET_VIEW not in kinds
    assert "widgets" not in nb["metadata"]
    assert [o for o in cell["outputs"] if o["output_type"] in ("error", "stream")] == []
    page = (run_dir / "02-segments.html").read_text(encoding="utf-8")
    assert "4 segments</b> (kmeans on behaviour + age + gender, seed 7)" in page


# --------------------------------------------------------------------------------------------
# real datasets
# --------------------------------------------------------------------------------------------
def _real_specs() -> list[str]:
    from tests.test_real_data import SPECS

    return [p.stem for p in SPECS]


#: Users drawn from the larger real datasets, to keep the test short.
REAL_SAMPLE = 6_000


@pytest.mark.real
@pytest.mark.parametrize("name", _real_specs())
def test_explorer_on_real_data(name):
    from tests.test_real_data import REAL_ROOT, load_real

    if not REAL_ROOT.is_dir():
        pytest.skip("the real datasets (../shared/datasets/real) are not in this clone")
    audience, _ = load_real(name)
    n = len(audience.table)
    if n > REAL_SAMPLE:
        rows = np.sort(np.random.RandomState(0).choice(n, REAL_SAMPLE, replace=False))
        audience = dataclasses.replace(
            audience, table=audience.table.iloc[rows].reset_index(drop=True)
        )
    explorer = segment_explorer(audience, static=True, map_method="pca", n_boot=50)
    assert explorer.n_segments_shown >= 2 and explorer.error is None
    explorer.refit(n_segments=3)
    assert explorer.error is None and explorer.n_segments_shown == 3
    assert "3 segments" in explorer.status_text
    html = explorer.drill_down(1)
    assert "Segment 1 · " in html and "Persona preview" in html
    assert 'class="pc-card"' in html or "No persona" in html
    explorer.personas.by_segment(1)  # a persona for the largest segment
    assert views_png(explorer).startswith(PNG)
    assert explorer._ui is None


def views_png(explorer) -> bytes:
    from toolkit._widgets_views import to_png

    return to_png(explorer.figure(), dpi=40)
