"""The persona editor of :mod:`toolkit.widgets`: name, photo and headline per persona.

Edits are previewed on the persona's card at once and saved as ``persona_overrides`` of the
personas template in the report config, which :func:`toolkit.personas.build_personas` applies
on the next report run (``notebooks: 03-personas: persona_overrides: {segment: {...}}``).
"""

from __future__ import annotations

import copy
import dataclasses
import html
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from toolkit._widgets_config import read_config, set_notebook_parameters, static_display
from toolkit.errors import ConfigError, ToolkitError

__all__ = ["PersonaEditor", "persona_editor"]

#: Fields the editor changes (all of them are overridable, see ``personas.OVERRIDABLE``).
EDITABLE = ("name", "photo", "headline")
PERSONAS_NOTEBOOK = "03-personas"


class PersonaEditor:
    """Edit the name, photo and headline of personas; see :func:`persona_editor`.

    Attributes
    ----------
    personas : list of Persona
        The personas as edited (copies; the input is not changed).
    config : Path or None
        The report config that :meth:`save` writes to.
    error : str or None
        Why the last edit or save was refused, else None.
    """

    def __init__(
        self,
        personas: Any,
        *,
        config: str | os.PathLike[str] | None = None,
        base_dir: str | os.PathLike[str] | None = None,
        static: bool | None = None,
    ):
        items = list(getattr(personas, "personas", personas))
        if not items:
            raise ConfigError("There is no persona to edit (build_personas returned none).")
        self.personas = [copy.deepcopy(p) for p in items]
        self._generated = {
            p.segment: {f: getattr(p, f) for f in (*EDITABLE, "about")} for p in self.personas
        }
        self._changed: dict[int, set[str]] = {p.segment: set() for p in self.personas}
        self.config = Path(config).expanduser().resolve() if config else None
        if base_dir is not None:
            self.base_dir: Path | None = Path(base_dir)
        else:
            self.base_dir = self.config.parent if self.config is not None else None
        self.static = static_display(static)
        self.error: str | None = None
        self._ui: dict[str, Any] | None = None

    # ------------------------------------------------------------------ state
    def persona(self, segment: int):
        """The (edited) persona of ``segment``."""
        for p in self.personas:
            if p.segment == int(segment):
                return p
        raise KeyError(f"No persona for segment {segment}.")

    @property
    def overrides(self) -> dict[int, dict[str, str]]:
        """``{segment: {field: value}}`` of the fields edited here or already overridden."""
        out: dict[int, dict[str, str]] = {}
        for p in self.personas:
            fields = self._changed[p.segment] | (set(p.overridden) & set(EDITABLE))
            values = {f: getattr(p, f) for f in EDITABLE if f in fields}
            values = {f: v for f, v in values.items() if v not in (None, "")}
            if values:
                out[p.segment] = values
        return out

    def set(self, segment: int, **fields: str | None) -> PersonaEditor:
        """Change fields (``name``, ``photo``, ``headline``) of a persona and redraw its card.

        An empty photo removes it; an empty name or headline is refused (see :attr:`error`).
        """
        unknown = sorted(set(fields) - set(EDITABLE))
        if unknown:
            raise ConfigError(f"The editor changes {list(EDITABLE)}, not {unknown}.")
        p = self.persona(segment)
        self.error = None
        for f, value in fields.items():
            value = "" if value is None else str(value).strip()
            if f in ("name", "headline") and not value:
                self.error = f"Segment {p.segment}: the {f} cannot be empty."
                continue
            if f == "name" and value != p.name:
                p.about = _rename(p.about, p.name, value)
            setattr(p, f, None if f == "photo" and not value else value)
            if value != (self._generated[p.segment][f] or ""):
                self._changed[p.segment].add(f)
            else:
                self._changed[p.segment].discard(f)
        p.overridden = sorted(set(p.overridden) | self._changed[p.segment], key=_field_order)
        self._refresh(p.segment)
        return self

    def card_html(self, segment: int) -> str:
        """The card of one persona as an HTML fragment (a photo that cannot be read is left
        out and reported in :attr:`error`)."""
        from toolkit.render import render_persona_cards

        p = self.persona(segment)
        try:
            return render_persona_cards([p], fragment=True, base_dir=self.base_dir)
        except ConfigError as exc:
            self.error = str(exc)
            return render_persona_cards([dataclasses.replace(p, photo=None)], fragment=True)

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write :attr:`overrides` into the report config (``path`` or ``config``), merged with
        the overrides already there; other keys, and comments where possible, are kept."""
        from toolkit.personas import _check_overrides

        target = Path(path) if path is not None else self.config
        if target is None:
            raise ConfigError("The editor has no report config: pass config=... or save(path).")
        self._check_photos()
        raw = read_config(target)
        current = ((raw.get("notebooks") or {}).get(PERSONAS_NOTEBOOK) or {}).get(
            "persona_overrides"
        )
        merged = {k: dict(v) for k, v in _check_overrides(current or {}).items()}
        for p in self.personas:
            entry = merged.setdefault(p.segment, {})
            for f in self._changed[p.segment]:
                value = getattr(p, f)
                if value in (None, ""):
                    entry.pop(f, None)
                else:
                    entry[f] = value
            entry.update(self.overrides.get(p.segment, {}))
            if not entry:
                merged.pop(p.segment)
        merged = {k: merged[k] for k in sorted(merged)}
        set_notebook_parameters(target, PERSONAS_NOTEBOOK, {"persona_overrides": merged})
        return target

    def _check_photos(self) -> None:
        from toolkit.render import _photo_uri

        for p in self.personas:
            if p.photo:
                _photo_uri(p.photo, self.base_dir)  # ConfigError names the file and the fix

    # ------------------------------------------------------------------ display
    @property
    def widget(self):
        """Tabs with the fields and the card of each persona, a Save button and a status."""
        if self._ui is None:
            self._ui = self._build_ui()
        return self._ui["box"]

    @property
    def ui(self) -> dict[str, Any]:
        """The widgets: ``fields`` ({segment: {field: Text}}), ``cards`` ({segment: HTML}),
        ``save``, ``status``, ``box``."""
        self.widget  # noqa: B018 - builds the widgets
        return self._ui

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, display

        if not self.static:
            display(self.widget)
            return
        display(HTML("".join(self.card_html(p.segment) for p in self.personas)))

    def _build_ui(self) -> dict[str, Any]:
        import ipywidgets as w

        fields: dict[int, dict[str, Any]] = {}
        cards: dict[int, Any] = {}
        pages = []
        for p in self.personas:
            texts = {
                "name": w.Text(value=p.name, description="Name", continuous_update=False),
                "photo": w.Text(
                    value=p.photo or "",
                    description="Photo",
                    placeholder="photos/julia.jpg (relative to the config)",
                    continuous_update=False,
                ),
                "headline": w.Textarea(
                    value=p.headline,
                    description="Headline",
                    rows=2,
                    continuous_update=False,
                    layout=w.Layout(width="520px"),
                ),
            }
            for f, box in texts.items():
                box.observe(self._on_text(p.segment, f), "value")
            fields[p.segment] = texts
            cards[p.segment] = w.HTML(self.card_html(p.segment))
            pages.append(w.VBox([*texts.values(), cards[p.segment]]))
        tabs = w.Tab(children=pages, titles=[f"Segment {p.segment}" for p in self.personas])
        save = w.Button(description="Save to config", icon="save", disabled=self.config is None)
        status = w.HTML()
        save.on_click(self._on_save)
        box = w.VBox([tabs, w.HBox([save, status])])
        box.add_class("toolkit-persona-editor")
        return {
            "fields": fields,
            "cards": cards,
            "save": save,
            "status": status,
            "box": box,
            "tabs": tabs,
        }

    def _on_text(self, segment: int, f: str):
        def handler(change: Mapping[str, Any]) -> None:
            self.set(segment, **{f: change["new"]})

        return handler

    def _on_save(self, _button: Any) -> None:
        try:
            path = self.save()
        except (ToolkitError, OSError) as exc:
            self.error = str(exc)
            self._ui["status"].value = _red(str(exc))
        else:
            self._ui["status"].value = f"Saved to {html.escape(path.name)}."

    def _refresh(self, segment: int) -> None:
        if self._ui is None:
            return
        self._ui["cards"][segment].value = self.card_html(segment)
        self._ui["status"].value = _red(self.error) if self.error else ""


def _red(text: str) -> str:
    return f'<span style="color:#b00020">{html.escape(text)}</span>'


def _field_order(f: str) -> int:
    from toolkit.personas import OVERRIDABLE

    return OVERRIDABLE.index(f) if f in OVERRIDABLE else len(OVERRIDABLE)


def _rename(text: str, old: str, new: str) -> str:
    """``text`` with the whole word ``old`` replaced by ``new`` (the about text names the
    persona; the report writes it with the new name)."""
    if not old or not text:
        return text
    return re.sub(rf"(?<!\w){re.escape(old)}(?!\w)", lambda _m: new, text)


def persona_editor(
    personas: Any,
    *,
    config: str | os.PathLike[str] | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    static: bool | None = None,
) -> PersonaEditor:
    """Edit persona names, photos and headlines, previewing the cards, and save the choices.

    Parameters
    ----------
    personas : PersonaSet or list of Persona
        From :func:`toolkit.personas.build_personas` (or ``SegmentExplorer.personas``).
    config : path, optional
        The report config; "Save to config" (or :meth:`PersonaEditor.save`) writes
        ``notebooks: 03-personas: persona_overrides: {segment: {name, photo, headline}}``
        there. Only those keys change: other content stays, and comments too unless the
        file's layout forces a full rewrite with PyYAML (which drops comments).
    base_dir : path, optional
        Folder of relative photo paths (default: the config's folder).
    static : bool, optional
        True shows the cards as HTML instead of widgets; None detects (as the explorer).

    Returns
    -------
    PersonaEditor

    Examples
    --------
    >>> editor = persona_editor(personas, config="report.yaml")  # doctest: +SKIP
    >>> editor.set(2, name="Julia", headline="Plans every purchase").save()  # doctest: +SKIP
    """
    return PersonaEditor(personas, config=config, base_dir=base_dir, static=static)
