"""Persona cards: one self-contained, escaped, printable HTML file; the run's persona outputs."""

from __future__ import annotations

import base64
import json
import re

import pytest

from tests.test_personas import EMAIL, IMG, PHONE, SCRIPT, analyse, make_audience
from toolkit.errors import ConfigError
from toolkit.personas import build_personas, personas_to_json
from toolkit.privacy import check_html_safe
from toolkit.render import persona_chart, render_persona_cards, write_personas

# a 1x1 transparent PNG
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


@pytest.fixture(scope="module")
def audience():
    table, columns, segments = make_audience()
    return table, columns, segments, analyse(table, columns, segments)


def build(audience, **kwargs):
    table, columns, segments, tables = audience
    return build_personas(table, segments, columns, *tables, all_segments=True, **kwargs)


@pytest.fixture(scope="module")
def personas(audience):
    return build(audience)


@pytest.fixture(scope="module")
def html(personas):
    return render_persona_cards(personas)


class TestRenderPersonaCards:
    def test_is_one_self_contained_document(self, html):
        assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
        assert check_html_safe(html) == []
        assert "<script" not in html.lower()
        assert "<link" not in html.lower()
        # the only URL is the SVG namespace, which is never fetched
        urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
        assert urls <= {"http://www.w3.org/2000/svg"}, urls

    def test_one_card_per_persona_with_chart(self, html, personas):
        assert html.count('<article class="pc-card"') == len(personas) == 3
        assert html.count('<svg role="img"') == 3
        for p in personas:
            assert f'id="persona-{p.segment}"' in html
            assert p.name in html

    def test_printable_on_a4(self, html):
        assert "@page { size: A4;" in html
        assert "@media print" in html
        assert "break-after: page" in html

    def test_statements_and_their_numbers_are_shown(self, html, personas):
        p = personas.by_segment(2)
        for c in p.claims("frustrations"):
            assert c.text in html and c.detail in html
        assert "Segment 4 has 20 users" in html

    def test_user_text_is_escaped_never_markup(self, audience):
        ps = build(audience, overrides={2: {"quote": f"{SCRIPT} {IMG} & more"}})
        out = render_persona_cards(ps)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
        assert "&lt;img src=x onerror=alert(1)&gt;" in out
        assert SCRIPT not in out and "<img src=x" not in out
        assert "&lt;i&gt;gold&lt;/i&gt;" in out  # a level from the data
        assert check_html_safe(out) == []

    def test_fragment_for_notebooks(self, personas):
        frag = render_persona_cards(personas, fragment=True)
        assert "<html" not in frag and "<!DOCTYPE" not in frag
        assert "<style>" in frag and 'class="pc-card"' in frag
        assert check_html_safe(frag) == []

    def test_overridden_fields_are_marked(self, audience, tmp_path):
        (tmp_path / "julia.png").write_bytes(PNG)
        ps = build(audience, overrides={1: {"name": "Julia", "photo": "julia.png"}})
        out = render_persona_cards(ps, base_dir=tmp_path)
        assert "Julia" in out
        assert out.count("set by analyst") == 1  # the name; the photo is the analyst's anyway
        assert f"data:image/png;base64,{base64.b64encode(PNG).decode()}" in out
        assert check_html_safe(out) == []

    def test_missing_or_unsupported_photo_is_an_error(self, audience, tmp_path):
        ps = build(audience, overrides={1: {"photo": "nope.png"}})
        with pytest.raises(ConfigError, match="nope.png.*not found"):
            render_persona_cards(ps, base_dir=tmp_path)
        (tmp_path / "x.txt").write_text("hello")
        ps = build(audience, overrides={1: {"photo": "x.txt"}})
        with pytest.raises(ConfigError, match="not a PNG"):
            render_persona_cards(ps, base_dir=tmp_path)

    def test_empty_set(self):
        out = render_persona_cards([])
        assert "No persona" in out and check_html_safe(out) == []


class TestPersonaChart:
    def test_bars_compare_segment_and_all_users(self, personas):
        p = personas.by_segment(1)
        chart = persona_chart(p)
        rows = {r["label"]: r for r in chart["rows"]}
        assert "Users" not in rows  # the size is in the card's facts, not a bar
        conv = rows["Bought at least once"]
        assert conv["value_w"] > conv["overall_w"] > 0
        assert conv["value_text"].endswith("%")
        sat = rows["Satisfaction"]
        full = chart["bar_w"]
        fig = next(k for k in p.key_figures if k["metric"] == "satisfaction")
        assert sat["value_w"] == pytest.approx(full * (fig["value"] - 1) / 4, abs=0.1)
        assert chart["height"] == 8 + 34 * len(chart["rows"])


class TestWritePersonas:
    def test_writes_three_files_atomically(self, personas, tmp_path):
        paths = write_personas(personas, tmp_path / "run")
        assert {k: p.name for k, p in paths.items()} == {
            "html": "personas.html",
            "markdown": "personas.md",
            "json": "personas.json",
        }
        assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
            "personas.html",
            "personas.json",
            "personas.md",
        ]  # no temporary file left behind
        assert json.loads(paths["json"].read_text())["personas"][0]["segment"] == 1

    def test_same_inputs_give_byte_identical_json(self, audience, tmp_path):
        a = write_personas(build(audience), tmp_path / "a")["json"].read_bytes()
        b = write_personas(build(audience), tmp_path / "b")["json"].read_bytes()
        assert a == b
        assert a.decode() == personas_to_json(build(audience))

    def test_comments_with_personal_data_or_markup_never_reach_an_output(self, personas, tmp_path):
        # segment 3's comments all hold an e-mail, a phone number, <script> or <img onerror>
        assert personas.by_segment(3).quote
        paths = write_personas(personas, tmp_path)
        for kind, path in paths.items():
            text = path.read_text(encoding="utf-8")
            assert EMAIL not in text and PHONE not in text, kind
            assert "<script" not in text.lower() and "<img" not in text, kind
            assert "alert(1)" not in text and "onerror" not in text, kind
        html = paths["html"].read_text(encoding="utf-8")
        assert check_html_safe(html) == []
        assert "<" not in paths["json"].read_text(encoding="utf-8")

    def test_a_failed_write_keeps_the_previous_files(self, personas, tmp_path, monkeypatch):
        paths = write_personas(personas, tmp_path)
        before = paths["json"].read_bytes()

        def boom(*args, **kwargs):
            raise RuntimeError("disk full")

        import toolkit.render as render

        monkeypatch.setattr(render, "personas_to_json", boom)
        with pytest.raises(RuntimeError, match="disk full"):
            write_personas(personas, tmp_path)
        assert paths["json"].read_bytes() == before
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.browser
def test_cards_load_nothing_from_the_network(html, tmp_path):
    from tests.browser import CHROMIUM_ARGS, PageWatch, chromium_path

    path = chromium_path()
    if path is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    (tmp_path / "personas.html").write_text(html, encoding="utf-8")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        page = browser.new_page()
        watch = PageWatch(page, ("file://", "data:"))
        page.goto((tmp_path / "personas.html").as_uri())
        assert watch.external == [] and watch.console_errors == [] and watch.failed == []
        assert page.locator("article.pc-card").count() == 3
        page.emulate_media(media="print")
        pdf = page.pdf(format="A4")
        browser.close()
    assert pdf[:4] == b"%PDF"
