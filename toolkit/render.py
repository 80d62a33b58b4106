"""Persona cards as one self-contained, printable HTML file; the run's persona outputs.

:func:`render_persona_cards` renders ``toolkit/templates/persona_cards.html.j2`` with Jinja2
(autoescape on: user text can never become markup): inline CSS, an inline SVG chart per card
comparing the persona's key figures with the whole audience, photos embedded as data URIs, no
request to any other file or host, A4 print layout with one card per page.
:func:`write_personas` writes ``personas.html``, ``personas.md`` and ``personas.json`` into a
run folder, each atomically (temporary file, then rename).

Examples
--------
>>> from toolkit.personas import PersonaSet
>>> from toolkit.render import render_persona_cards
>>> html = render_persona_cards(PersonaSet([]))
>>> html.startswith("<!DOCTYPE html>")
True
"""

from __future__ import annotations

import base64
import math
import mimetypes
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from toolkit.errors import ConfigError, ReportError
from toolkit.personas import (
    Persona,
    PersonaSet,
    personas_to_json,
    personas_to_markdown,
)
from toolkit.privacy import check_html_safe

__all__ = ["render_persona_cards", "write_personas", "persona_chart"]

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
CARDS_TEMPLATE = "persona_cards.html.j2"
_PHOTO_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
_MAX_PHOTO_BYTES = 2_000_000
_SECTIONS = (
    ("lifestyle", "Life"),
    ("behaviours", "Behaviours"),
    ("goals", "Goals and motivations"),
    ("frustrations", "Frustrations and barriers"),
    ("channels", "Channels"),
)


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(float(x))


def _fraction(k: Mapping[str, Any], x: float, top: float) -> float:
    """Bar length (0-1) of value ``x`` of a key figure."""
    lo, hi = k.get("scale_min"), k.get("scale_max")
    if _finite(lo) and _finite(hi) and hi > lo:
        return min(max((x - lo) / (hi - lo), 0.0), 1.0)
    if k.get("unit") == "share":
        return min(max(x, 0.0), 1.0)
    return min(max(x / top, 0.0), 1.0) if top > 0 else 0.0


def _figure_text(k: Mapping[str, Any], x: float) -> str:
    unit = k.get("unit")
    if unit == "count":
        return f"{int(x):,}"
    if unit == "share":
        return f"{100 * x:.0f}%"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:,.1f}"


def persona_chart(persona: Persona, *, width: int = 330, max_rows: int = 6) -> dict[str, Any]:
    """Geometry of the small chart of a card: one pair of bars (this persona's segment vs all
    users) per key figure, the segment's size excepted. Returns ``{"width", "height", "rows"}``
    with bar lengths in pixels and the labels as plain text (the template escapes them).

    Examples
    --------
    >>> from toolkit.personas import Persona
    >>> p = Persona(1, "Ann", 30, None, None, "", "", key_figures=[{"metric": "conversion",
    ...     "label": "Bought", "value": .6, "overall": .3, "unit": "share", "text": ""}])
    >>> [r["value_text"] for r in persona_chart(p)["rows"]]
    ['60%']
    """
    figures = [
        k
        for k in persona.key_figures
        if k.get("metric") != "size" and _finite(k.get("value")) and _finite(k.get("overall"))
    ][:max_rows]
    bar_x = 136
    bar_w = width - bar_x - 52
    rows = []
    for i, k in enumerate(figures):
        v, o = float(k["value"]), float(k["overall"])
        top = max(abs(v), abs(o))
        y = 6 + i * 34
        rows.append(
            {
                "label": str(k.get("label", k.get("metric", ""))),
                "y": y,
                "value_w": round(bar_w * _fraction(k, v, top), 1),
                "overall_w": round(bar_w * _fraction(k, o, top), 1),
                "value_text": _figure_text(k, v),
                "overall_text": _figure_text(k, o),
            }
        )
    return {
        "width": width,
        "height": 8 + 34 * len(rows),
        "bar_x": bar_x,
        "bar_w": bar_w,
        "rows": rows,
    }


def _photo_uri(path: Any, base_dir: Path | None) -> str | None:
    if not path:
        return None
    p = Path(os.path.expanduser(str(path)))
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    if not p.is_file():
        raise ConfigError(
            f"Persona photo {str(path)!r} was not found (looked at {p}). Give a path relative "
            "to the report config's folder, or remove the photo override."
        )
    mime = mimetypes.guess_type(p.name)[0]
    if mime not in _PHOTO_TYPES:
        raise ConfigError(
            f"Persona photo {p.name!r} is not a PNG, JPEG, GIF or WebP image (type {mime}). "
            "Convert it, or remove the photo override."
        )
    data = p.read_bytes()
    if len(data) > _MAX_PHOTO_BYTES:
        raise ConfigError(
            f"Persona photo {p.name!r} is {len(data) / 1e6:.1f} MB; the cards embed photos, so "
            f"keep them under {_MAX_PHOTO_BYTES / 1e6:.0f} MB (e.g. 400 x 400 pixels)."
        )
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _initials(name: str) -> str:
    parts = [w for w in str(name).split() if w[:1].isalpha()]
    return "".join(w[0].upper() for w in parts[:2]) or "?"


def _card(p: Persona, base_dir: Path | None) -> dict[str, Any]:
    by_text = {(c.field, c.text): c for c in p.evidence}
    sections = []
    for f, title in _SECTIONS:
        items = [
            {"text": t, "detail": by_text[(f, t)].detail if (f, t) in by_text else ""}
            for t in getattr(p, f)
        ]
        if items:
            sections.append({"title": title, "items": items, "overridden": f in p.overridden})
    facts = []
    if p.gender:
        facts.append({"female": "Woman", "male": "Man"}.get(p.gender, "Non-binary"))
    if p.age is not None:
        facts.append(f"{p.age} years")
    elif p.birth_year is not None:
        facts.append(f"born around {p.birth_year}")
    if p.place:
        facts.append(str(p.place))
    evidence = [
        {
            "text": c.text,
            "detail": c.detail,
            "index": "" if not _finite(c.index) else f"{c.index:,.0f}",
            "effect": "" if not _finite(c.effect) else f"{c.effect:.2f}",
            "q": "" if not _finite(c.q) else ("< 0.001" if c.q < 0.001 else f"{c.q:.3f}"),
            "evidence": c.evidence,
        }
        for c in p.evidence
        if c.field != "quote"
    ]
    share = f"{100 * p.share:.0f}%" if _finite(p.share) else "n/a"
    return {
        "segment": p.segment,
        "name": p.name,
        "age": p.age,
        "initials": _initials(p.name),
        "photo": _photo_uri(p.photo, base_dir),
        "headline": p.headline,
        "about": p.about,
        "facts": facts,
        "size": f"{p.size:,}",
        "share": share,
        "sections": sections,
        "quote": p.quote,
        "chart": persona_chart(p),
        "prevalence": p.prevalence.get("note", ""),
        "evidence": evidence,
        "overridden": list(p.overridden),
    }


def _as_set(personas: PersonaSet | Sequence[Persona]) -> PersonaSet:
    if isinstance(personas, PersonaSet):
        return personas
    return PersonaSet(list(personas))


def render_persona_cards(
    personas: PersonaSet | Sequence[Persona],
    *,
    title: str = "Personas",
    fragment: bool = False,
    base_dir: str | os.PathLike[str] | None = None,
) -> str:
    """Render persona cards as one self-contained HTML document (or a fragment).

    Parameters
    ----------
    personas : PersonaSet or list of Persona
    title : str
        Page title.
    fragment : bool
        Return only the cards and their style (for a notebook's ``HTML(...)``), without the
        ``<html>`` shell.
    base_dir : path, optional
        Folder that relative photo paths are read from (default: the working directory).

    Returns
    -------
    str
        HTML with inline CSS and SVG charts, photos as data URIs and no external requests.

    Raises
    ------
    ReportError
        If the rendered HTML fails :func:`toolkit.privacy.check_html_safe` (it never should).
    """
    ps = _as_set(personas)
    base = Path(base_dir) if base_dir is not None else None
    template = _environment().get_template(CARDS_TEMPLATE)
    html = template.render(
        title=title,
        fragment=fragment,
        cards=[_card(p, base) for p in ps.personas],
        skipped=[dict(s) for s in ps.skipped],
    )
    problems = check_html_safe(html)
    if problems:
        raise ReportError(
            "The persona cards contain active or external content: "
            + "; ".join(problems[:5])
            + ". This is a bug in the template; please report it."
        )
    return html


def write_personas(
    personas: PersonaSet | Sequence[Persona],
    out_dir: str | os.PathLike[str],
    *,
    title: str = "Personas",
    base_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Path]:
    """Write ``personas.html``, ``personas.md`` and ``personas.json`` into ``out_dir``.

    Each file is written to a temporary file beside its target and renamed into place, so a
    failed run never leaves a half-written file (and an earlier complete file stays intact).

    Returns
    -------
    dict
        ``{"html": path, "markdown": path, "json": path}``.
    """
    from toolkit.runs import atomic_write_text

    ps = _as_set(personas)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    texts = {
        "html": ("personas.html", render_persona_cards(ps, title=title, base_dir=base_dir)),
        "markdown": ("personas.md", personas_to_markdown(ps)),
        "json": ("personas.json", personas_to_json(ps)),
    }
    return {key: atomic_write_text(out / name, text) for key, (name, text) in texts.items()}
