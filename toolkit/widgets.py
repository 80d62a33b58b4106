"""Interactive exploration in JupyterLab: the segment explorer and the persona editor.

:func:`segment_explorer` shows controls for the segmentation bases, the method, the number of
segments (0 = chosen by evidence) and the seed, and redraws the segment map, the sizes, the
profile heatmap and the outcome chart when one changes. Below them a drill-down describes one
segment (profile against the audience, outcomes, distinguishing sentences, sample comments with
personal data removed, a persona preview), and an export box gives the settings as a snippet
of the report config, so that ``toolkit report`` reproduces the explorer's segments exactly.

Refits reuse what they can: the bases are prepared once per choice of bases and each k sweep
runs once (:class:`toolkit.segmentation.FitCache`), a fixed number of segments fits only that
k of the sweep, the map is embedded once per choice of bases and recoloured with the new
segments, every result is kept for its settings, and the slider and seed refit only when they
are released (``continuous_update=False``).

:func:`persona_editor` edits the name, photo and headline of personas, redraws each card as
it changes and saves the choices as ``persona_overrides`` of the personas template in the
report config.

Under papermill, nbconvert or any other batch run (and outside a kernel) both display figures
and HTML for their current settings instead of widgets, so a report holds no dead controls and
no widget state; ``static=True``/``False`` forces either (see
:func:`toolkit._widgets_config.static_display`).

Examples
--------
>>> from toolkit.load import load_audience  # doctest: +SKIP
>>> from toolkit.widgets import segment_explorer, persona_editor  # doctest: +SKIP
>>> audience = load_audience("data-samples/shop/report.yaml")  # doctest: +SKIP
>>> explorer = segment_explorer(audience, config="data-samples/shop/report.yaml")  # doctest: +SKIP
>>> explorer.refit(n_segments=5).n_segments_shown  # doctest: +SKIP
5
>>> print(explorer.config_snippet())  # doctest: +SKIP
>>> persona_editor(explorer.personas, config="data-samples/shop/report.yaml")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import html
import os
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from toolkit import _widgets_views as views
from toolkit._widgets_config import read_config, set_notebook_parameters, static_display
from toolkit._widgets_personas import PersonaEditor, persona_editor
from toolkit.config import DEFAULT_K_RANGE, DEFAULT_MIN_PERSONA_SIZE
from toolkit.errors import ConfigError, DataError, DataWarning, ToolkitError
from toolkit.segmentation import METHODS, FitCache, Segmenter, segment_customers

__all__ = [
    "segment_explorer",
    "SegmentExplorer",
    "ExplorerSettings",
    "persona_editor",
    "PersonaEditor",
    "static_display",
]

#: Roles offered as segmentation bases (when the audience has usable columns of that role).
BASE_ROLES = ("demographic", "behaviour", "opinion", "outcome")
DEFAULT_BASES = ("demographic", "behaviour")
#: Template whose parameters the explorer's settings are.
SEGMENTS_NOTEBOOK = "02-segments"
PERSONAS_NOTEBOOK = "03-personas"
#: Errors a refit shows in the explorer's status instead of raising.
REFIT_ERRORS = (ToolkitError, ValueError, ArithmeticError, np.linalg.LinAlgError, MemoryError)
_MAX_FITS = 16
_MAX_MAPS = 4


@dataclass(frozen=True)
class ExplorerSettings:
    """The settings of one segmentation, as the segments template's parameters.

    Examples
    --------
    >>> ExplorerSettings(("behaviour",), "kmeans", 0, 0, 2, 10).parameters()["n_segments"]
    0
    """

    bases: tuple[str, ...]
    method: str
    n_segments: int
    random_state: int
    k_min: int
    k_max: int

    def parameters(self) -> dict[str, Any]:
        """The settings as parameters of ``notebooks/02-segments.ipynb``."""
        out = asdict(self)
        out["bases"] = list(self.bases)
        return {
            k: out[k] for k in ("n_segments", "method", "bases", "random_state", "k_min", "k_max")
        }


@dataclass
class _Fit:
    """One segmentation and its analysis, kept per settings."""

    settings: ExplorerSettings
    segmenter: Segmenter
    segments: pd.DataFrame
    profiles: pd.DataFrame | None = None
    findings: pd.DataFrame | None = None
    outcomes: pd.DataFrame | None = None
    targets: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    personas: Any = None
    persona_error: str = ""
    drill: dict[int, str] = field(default_factory=dict)
    charts: dict[str, bytes] = field(default_factory=dict)


class _UI:
    """Namespace of the explorer's widgets (built on first use, never by a static display)."""


class SegmentExplorer:
    """Explore segmentations of an audience interactively; see :func:`segment_explorer`.

    Attributes
    ----------
    settings : ExplorerSettings
        Settings of the segmentation shown.
    segmenter : Segmenter
        The fitted segmenter shown.
    segments : DataFrame
        The segments table shown (id column, ``segment``, ``confidence``).
    n_segments_shown : int
    profiles, findings, outcomes, targets : DataFrame or None
        Analysis of the segments shown (``n_boot`` bootstrap resamples for the intervals).
    error : str or None
        Why the last refit failed (the previous segmentation stays shown), else None.
    timings : dict
        Seconds of the last refit's steps: ``segments``, ``analysis``, ``map``, ``charts``.
    static : bool
        Whether the explorer displays figures instead of widgets.
    """

    def __init__(
        self,
        audience: Any,
        *,
        config: str | os.PathLike[str] | None = None,
        n_segments: int = 0,
        method: str = "kmeans",
        bases: Sequence[str] | None = None,
        k_range: tuple[int, int] = DEFAULT_K_RANGE,
        random_state: int = 0,
        segmenter: Segmenter | None = None,
        segment: int | None = None,
        map_method: str = "umap",
        map_sample: int = 5_000,
        n_boot: int = 200,
        alpha: float = 0.05,
        n_targets: int = 2,
        static: bool | None = None,
    ):
        self.audience = audience
        self.table: pd.DataFrame = audience.table
        self.columns: pd.DataFrame = audience.columns
        self.config = Path(config).expanduser().resolve() if config else None
        self.static = static_display(static)
        self.map_method = map_method
        self.map_sample = int(map_sample)
        self.map_seed = int(random_state)
        self.n_boot = int(n_boot)
        self.alpha = float(alpha)
        self.n_targets = int(n_targets)
        self.error: str | None = None
        self.timings: dict[str, float] = {}
        self._cache = FitCache(defer_sweep=True)
        self._fits: dict[ExplorerSettings, _Fit] = {}
        self._maps: dict[tuple, tuple[np.ndarray, pd.DataFrame]] = {}
        self._names: set[str] | None = None
        self._ui: _UI | None = None
        self._syncing = False
        self._persona_params = self._read_persona_params()
        if segmenter is not None:
            settings = self._settings_of(segmenter)
            self._fits[settings] = self._analyse(settings, segmenter, time.perf_counter())
        else:
            settings = self._check(
                ExplorerSettings(
                    tuple(bases) if bases is not None else DEFAULT_BASES,
                    method,
                    int(n_segments),
                    int(random_state),
                    int(k_range[0]),
                    int(k_range[1]),
                )
            )
        self._fit = self._compute(settings)
        self._segment = self._default_segment(segment)

    # ------------------------------------------------------------------ state
    @property
    def settings(self) -> ExplorerSettings:
        return self._fit.settings

    @property
    def segmenter(self) -> Segmenter:
        return self._fit.segmenter

    @property
    def segments(self) -> pd.DataFrame:
        return self._fit.segments

    @property
    def n_segments_shown(self) -> int:
        return int(self._fit.segmenter.n_segments_)

    @property
    def profiles(self) -> pd.DataFrame | None:
        return self._fit.profiles

    @property
    def findings(self) -> pd.DataFrame | None:
        return self._fit.findings

    @property
    def outcomes(self) -> pd.DataFrame | None:
        return self._fit.outcomes

    @property
    def targets(self) -> pd.DataFrame | None:
        return self._fit.targets

    @property
    def selected_segment(self) -> int:
        """The segment the drill-down describes."""
        return self._segment

    @property
    def segment_map(self) -> pd.DataFrame:
        """The map (``x``, ``y``, ``segment``): embedded once per bases, coloured by segment."""
        pos, xy = self._map_coords(self._fit)
        out = xy.copy()
        out["segment"] = self._fit.segments["segment"].to_numpy()[pos]
        out.attrs["method"] = self.map_method
        return out

    @property
    def personas(self):
        """Personas of every segment of the segmentation shown (a PersonaSet)."""
        fit = self._fit
        self._ensure_personas(fit)
        if fit.personas is None:
            raise DataError(f"No personas for these segments: {fit.persona_error}")
        return fit.personas

    @property
    def status_text(self) -> str:
        """One line on what is shown, e.g. "6 segments (kmeans on demographic + behaviour...)"."""
        return self._status(html_out=False)

    # ------------------------------------------------------------------ actions
    def refit(self, **changes: Any) -> SegmentExplorer:
        """Show the segmentation for changed settings (``bases``, ``method``, ``n_segments``,
        ``random_state``, ``k_min``, ``k_max``).

        A refit that fails (e.g. HDBSCAN finds nothing on a small table) keeps the previous
        segmentation, sets :attr:`error` and shows why in the status line.
        """
        unknown = sorted(set(changes) - set(ExplorerSettings.__dataclass_fields__))
        if unknown:
            raise ConfigError(
                f"Unknown setting(s) {unknown}; the explorer's settings are "
                f"{list(ExplorerSettings.__dataclass_fields__)}."
            )
        if "bases" in changes:
            changes["bases"] = tuple(changes["bases"])
        self._set_status_busy()
        try:
            settings = self._check(replace(self.settings, **changes))
            fit = self._compute(settings)
        except REFIT_ERRORS as exc:
            self.error = (
                str(exc) if isinstance(exc, ToolkitError) else f"{type(exc).__name__}: {exc}"
            )
        else:
            self.error = None
            self._fit = fit
            self._segment = self._default_segment(self._segment)
        self._refresh_ui()
        return self

    def select(self, segment: int) -> SegmentExplorer:
        """Describe ``segment`` in the drill-down."""
        segment = int(segment)
        if segment not in self._segment_ids():
            raise DataError(f"There is no segment {segment}; shown are {self._segment_ids()}.")
        self._segment = segment
        if self._ui is not None:
            self._ui.drill.value = self.drill_down()
            with self._sync():
                self._ui.segment.value = segment
        return self

    def drill_down(self, segment: int | None = None) -> str:
        """HTML of one segment (default: the selected one): profile against the audience,
        outcomes, distinguishing sentences, sample comments and a persona preview."""
        fit = self._fit
        seg = self._segment if segment is None else int(segment)
        if seg not in self._segment_ids():
            return f"<p>There is no segment {seg}; the segments are {self._segment_ids()}.</p>"
        if seg not in fit.drill:
            fit.drill[seg] = self._drill_html(fit, seg)
        return fit.drill[seg]

    def figure(self):
        """The map, sizes, profile heatmap and outcome chart of the current settings in one
        matplotlib Figure (not managed by pyplot)."""
        return views.overview_figure(self.segment_map, self.segments, self.profiles, self.outcomes)

    def config_snippet(self) -> str:
        """The settings as a report config snippet (YAML) that ``toolkit report`` accepts.

        Examples
        --------
        >>> print(explorer.config_snippet())  # doctest: +SKIP
        # Segment settings chosen in the explorer; merge into the report config.
        notebooks:
          02-segments:
            n_segments: 6
            method: kmeans
            bases: [demographic, behaviour]
            random_state: 0
            k_min: 2
            k_max: 10
        """
        body = {"notebooks": {SEGMENTS_NOTEBOOK: self.settings.parameters()}}
        text = yaml.safe_dump(body, sort_keys=False, default_flow_style=None, allow_unicode=True)
        return "# Segment settings chosen in the explorer; merge into the report config.\n" + text

    def save_config(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write the settings into the report config (``path`` or the explorer's ``config``).

        Only the keys of the segments template change; comments elsewhere are kept when the
        file's layout allows (see :func:`toolkit._widgets_config.set_notebook_parameters`).
        """
        target = Path(path) if path is not None else self.config
        if target is None:
            raise ConfigError(
                "The explorer has no report config: pass segment_explorer(..., config=...) or "
                "save_config(path)."
            )
        set_notebook_parameters(target, SEGMENTS_NOTEBOOK, self.settings.parameters())
        return target

    # ------------------------------------------------------------------ display
    @property
    def widget(self):
        """The explorer's widget box (built on first use)."""
        return self.ui.box

    @property
    def ui(self) -> _UI:
        """The widgets: ``bases``, ``method``, ``k_slider``, ``seed``, ``status``, ``map``,
        ``sizes``, ``heatmap``, ``outcomes``, ``segment``, ``drill``, ``snippet``, ``save``."""
        if self._ui is None:
            self._ui = self._build_ui()
            self._refresh_ui()
        return self._ui

    @property
    def status(self):
        """The status widget (HTML); its text names the number of segments shown."""
        return self.ui.status

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, Image, Markdown, display

        if not self.static:
            display(self.widget)
            return
        display(HTML(f"<p>{self._status(html_out=True)}</p>"))
        display(Image(data=views.to_png(self.figure(), dpi=80), format="png"))
        display(HTML(self.drill_down()))
        display(
            Markdown(f"Settings for the report config:\n\n```yaml\n{self.config_snippet()}```")
        )

    def __repr__(self) -> str:
        return f"<SegmentExplorer: {self.status_text}>"

    # ------------------------------------------------------------------ computing
    def _check(self, s: ExplorerSettings) -> ExplorerSettings:
        if s.method not in METHODS:
            raise ConfigError(f"method={s.method!r} is not supported; choose one of {METHODS}.")
        if not s.bases:
            raise ConfigError("Choose at least one segmentation base (a role or a column).")
        if s.n_segments < 0 or s.n_segments == 1:
            raise ConfigError(f"n_segments must be 0 (auto) or at least 2, got {s.n_segments}.")
        if not 2 <= s.k_min <= s.k_max:
            raise ConfigError(f"k_range must satisfy 2 <= k_min <= k_max, got {s.k_min, s.k_max}.")
        return s

    def _settings_of(self, segmenter: Segmenter) -> ExplorerSettings:
        p = segmenter.get_params()
        if not isinstance(p["random_state"], int | np.integer):
            raise ConfigError("The segmenter must be fitted with an integer random_state.")
        n = p["n_segments"]
        return self._check(
            ExplorerSettings(
                tuple(p["bases"]) if p["bases"] is not None else DEFAULT_BASES,
                str(p["method"]),
                0 if n in ("auto", None) else int(n),
                int(p["random_state"]),
                int(p["k_range"][0]),
                int(p["k_range"][1]),
            )
        )

    def _compute(self, s: ExplorerSettings) -> _Fit:
        hit = self._fits.pop(s, None)
        if hit is not None:
            self._fits[s] = hit  # most recent last
            self.timings = {"segments": 0.0, "analysis": 0.0}
            return hit
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            seg = segment_customers(
                self.table,
                self.columns,
                n_segments=s.n_segments or "auto",
                method=s.method,
                bases=list(s.bases),
                k_range=(s.k_min, s.k_max),
                random_state=s.random_state,
                cache=self._cache,
            )
        if seg.n_segments_ == 0:
            raise DataError(
                f"method={s.method!r} found no segment: every user is unsegmented. Try another "
                "method, other bases or more users."
            )
        fit = self._analyse(s, seg, t0, caught)
        self._fits[s] = fit
        while len(self._fits) > _MAX_FITS:
            self._fits.pop(next(iter(self._fits)))
        return fit

    def _analyse(self, s: ExplorerSettings, seg: Segmenter, t0: float, caught=()) -> _Fit:
        from toolkit.correlation import profile_segments
        from toolkit.findings import distinguishing_findings
        from toolkit.outcomes import outcomes_by_segment
        from toolkit.targeting import rank_targets

        segments = seg.segments_table(self.table)
        notes = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
        fit = _Fit(s, seg, segments, notes=list(dict.fromkeys(notes)))
        t1 = time.perf_counter()
        if seg.n_segments_ > 0:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit.profiles = self._step(
                    fit,
                    "profile",
                    profile_segments,
                    self.table,
                    segments,
                    self.columns,
                    bases=seg.base_columns_,
                    alpha=self.alpha,
                    n_boot=self.n_boot,
                    random_state=s.random_state,
                )
                if fit.profiles is not None:
                    fit.findings = self._step(
                        fit,
                        "findings",
                        distinguishing_findings,
                        fit.profiles,
                        columns=self.columns,
                    )
                fit.outcomes = self._step(
                    fit,
                    None,
                    outcomes_by_segment,
                    self.table,
                    segments,
                    self.columns,
                    n_boot=self.n_boot,
                    random_state=s.random_state,
                )
                fit.targets = self._step(
                    fit,
                    "targets",
                    rank_targets,
                    fit.outcomes,
                    fit.profiles,
                    segments,
                    n_targets=self.n_targets,
                )
        fit.seconds = {"segments": t1 - t0, "analysis": time.perf_counter() - t1}
        self.timings = dict(fit.seconds)
        return fit

    @staticmethod
    def _step(fit: _Fit, what: str | None, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except REFIT_ERRORS as exc:
            if what is not None:
                fit.notes.append(f"No {what}: {exc}")
            return None

    def _map_coords(self, fit: _Fit) -> tuple[np.ndarray, pd.DataFrame]:
        """Positions of the mapped users and their 2-D coordinates, once per bases."""
        from toolkit.embedding import embed_map, stratified_positions

        key = (fit.settings.bases, self.map_method, self.map_sample, self.map_seed)
        hit = self._maps.get(key)
        if hit is None:
            t0 = time.perf_counter()
            n = len(self.table)
            pos = stratified_positions(
                np.zeros(n, dtype=int), self.map_sample, random_state=self.map_seed
            )
            X = fit.segmenter.transform(self.table.iloc[pos])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                xy = embed_map(
                    X,
                    np.zeros(len(pos), dtype=int),
                    method=self.map_method,
                    sample_size=len(pos),
                    random_state=self.map_seed,
                )
            hit = (pos, xy[["x", "y"]])
            self._maps[key] = hit
            while len(self._maps) > _MAX_MAPS:
                self._maps.pop(next(iter(self._maps)))
            self.timings["map"] = time.perf_counter() - t0
        return hit

    def _segment_ids(self) -> list[int]:
        labels = self._fit.segments["segment"].to_numpy()
        return sorted(int(s) for s in np.unique(labels[labels > 0]))

    def _default_segment(self, wanted: int | None) -> int:
        ids = self._segment_ids()
        if wanted is not None and int(wanted) in ids:
            return int(wanted)
        return ids[0] if ids else -1

    # ------------------------------------------------------------------ personas, drill-down
    def _read_persona_params(self) -> dict[str, Any]:
        """Persona options of the report config (so that previews match the report)."""
        out: dict[str, Any] = {"min_size": DEFAULT_MIN_PERSONA_SIZE}
        if self.config is None or not self.config.is_file():
            return out
        raw = read_config(self.config)
        shared = raw.get("parameters") or {}
        mine = (raw.get("notebooks") or {}).get(PERSONAS_NOTEBOOK) or {}
        params = {**shared, **mine}
        names = {
            "min_persona_size": "min_size",
            "min_quote_users": "min_quote_users",
            "locale": "locale",
            "seed": "seed",
            "persona_overrides": "overrides",
        }
        for key, arg in names.items():
            if key in params:
                out[arg] = params[key]
        return out

    def _forbidden_names(self) -> set[str]:
        if self._names is None:
            from toolkit.personas import names_in_data

            spec = getattr(self.audience, "spec", None)
            try:
                self._names = names_in_data(spec) if spec is not None else set()
            except (ToolkitError, OSError):
                self._names = set()
        return self._names

    def _base_dir(self) -> Path | None:
        spec = getattr(self.audience, "spec", None)
        base = getattr(spec, "base_dir", None)
        if base is not None:
            return Path(base)
        return self.config.parent if self.config is not None else None

    def _ensure_personas(self, fit: _Fit) -> None:
        if fit.personas is not None or fit.persona_error:
            return
        from toolkit.personas import build_personas

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit.personas = build_personas(
                    self.table,
                    fit.segments,
                    self.columns,
                    fit.profiles,
                    fit.findings,
                    fit.outcomes,
                    fit.targets,
                    all_segments=True,
                    forbidden_names=self._forbidden_names(),
                    **self._persona_params,
                )
        except REFIT_ERRORS as exc:
            fit.persona_error = str(exc)

    def _persona_preview(self, fit: _Fit, segment: int) -> tuple[str | None, str]:
        from toolkit.render import render_persona_cards

        self._ensure_personas(fit)
        if fit.personas is None:
            return None, f"No persona preview: {fit.persona_error}"
        try:
            persona = fit.personas.by_segment(segment)
        except KeyError as exc:
            return None, str(exc.args[0])
        try:
            return render_persona_cards([persona], fragment=True, base_dir=self._base_dir()), ""
        except ConfigError as exc:  # a photo override that cannot be read
            persona = replace(persona, photo=None)
            html_out = render_persona_cards([persona], fragment=True)
            return html_out, str(exc)

    def _text_column(self) -> str | None:
        cat = self.columns
        for name in cat.index[cat["role"] == "text"]:
            if name in self.table.columns:
                return str(name)
        return None

    def _drill_html(self, fit: _Fit, segment: int) -> str:
        from toolkit.findings import scales_from_columns

        labels = fit.segments["segment"].to_numpy()
        in_seg = labels == segment
        sentences: list[str] = []
        if fit.findings is not None and len(fit.findings):
            rows = fit.findings[fit.findings["segment"] == segment].sort_values("rank")
            sentences = [str(s) for s in rows["sentence"]]
        text_col = self._text_column()
        comments = views.sample_comments(
            self.table[text_col] if text_col else None,
            in_seg,
            random_state=fit.settings.random_state,
            names=sorted(self._forbidden_names()),
        )
        persona_html, note = self._persona_preview(fit, segment)
        return views.drilldown_html(
            segment,
            size=int(in_seg.sum()),
            total=len(labels),
            profile=views.profile_rows(fit.profiles, segment, scales_from_columns(self.columns)),
            outcomes=views.outcome_rows(fit.outcomes, segment),
            sentences=sentences,
            comments=comments,
            persona_html=persona_html,
            persona_note=note,
        )

    # ------------------------------------------------------------------ status
    def _status(self, *, html_out: bool) -> str:
        e = html.escape if html_out else str
        s, seg = self.settings, self.segmenter
        k = self.n_segments_shown
        bases = " + ".join(s.bases)
        head = f"{k} segments"
        head = f"<b>{head}</b>" if html_out else head
        parts = [f"{head} ({e(s.method)} on {e(bases)}, seed {s.random_state})."]
        unseg = float((self.segments["segment"] < 0).mean())
        if unseg > 0:
            parts.append(f"{unseg:.0%} of users are unsegmented.")
        parts.append(e(seg.recommended_reason_))
        if self._fit.notes:
            parts.append(e("Notes: " + " ".join(self._fit.notes)))
        if self.error:
            warn = e(f"Could not refit: {self.error}. Still showing the previous segments.")
            parts.insert(0, f'<span style="color:#b00020">{warn}</span>' if html_out else warn)
        return " ".join(parts)

    # ------------------------------------------------------------------ widgets
    def _base_options(self) -> list[tuple[str, str]]:
        cat = self.columns
        usable = cat["usable"].astype(bool) if "usable" in cat else pd.Series(True, cat.index)
        kinds = cat["kind"].astype(str) if "kind" in cat else pd.Series("", cat.index)
        ok = usable & ~kinds.isin(["text", "datetime", "date"])
        options = [(f"{r} (role)", r) for r in BASE_ROLES if (ok & (cat["role"] == r)).any()]
        options += [
            (f"{c} ({cat.loc[c, 'role']})", str(c))
            for c in cat.index[ok & cat["role"].isin(BASE_ROLES)]
        ]
        values = {v for _, v in options}
        options += [(b, b) for b in self.settings.bases if b not in values]
        return options

    def _build_ui(self) -> _UI:
        import ipywidgets as w

        ui = _UI()
        s = self.settings
        ui.bases = w.SelectMultiple(
            options=self._base_options(),
            value=s.bases,
            rows=8,
            description="Bases",
            layout=w.Layout(width="340px"),
        )
        ui.method = w.Dropdown(options=list(METHODS), value=s.method, description="Method")
        ui.k_slider = w.IntSlider(
            value=s.n_segments,
            min=0,
            max=s.k_max,
            step=1,
            continuous_update=False,
            description="Segments",
        )
        ui.k_note = w.HTML("<small>0 = chosen by evidence</small>")
        ui.seed = w.BoundedIntText(
            value=s.random_state, min=0, max=2**31 - 1, continuous_update=False, description="Seed"
        )
        ui.status = w.HTML(layout=w.Layout(margin="4px 0 8px 0"))
        ui.map, ui.sizes, ui.heatmap, ui.outcomes = (
            w.Image(format="png", layout=w.Layout(width="100%", height="auto")) for _ in range(4)
        )
        ui.segment = w.Dropdown(description="Segment", options=[])
        ui.drill = w.HTML()
        ui.snippet = w.Textarea(rows=9, layout=w.Layout(width="520px"), description="Config")
        ui.save = w.Button(
            description="Save to config",
            icon="save",
            disabled=self.config is None,
            tooltip=str(self.config) if self.config else "no report config",
        )
        ui.save_status = w.HTML()
        controls = w.HBox(
            [ui.bases, w.VBox([ui.method, w.HBox([ui.k_slider, ui.k_note]), ui.seed])]
        )
        ui.box = w.VBox(
            [
                controls,
                ui.status,
                w.GridBox(
                    [ui.map, ui.sizes, ui.heatmap, ui.outcomes],
                    layout=w.Layout(
                        grid_template_columns="repeat(2, minmax(0, 1fr))", grid_gap="8px"
                    ),
                ),
                w.HTML("<h3>Drill-down</h3>"),
                ui.segment,
                ui.drill,
                w.HTML("<h3>Export</h3>"),
                ui.snippet,
                w.HBox([ui.save, ui.save_status]),
            ]
        )
        ui.box.add_class("toolkit-segment-explorer")
        ui.status.add_class("toolkit-status")
        ui.bases.observe(self._on_control, "value")
        ui.method.observe(self._on_control, "value")
        ui.k_slider.observe(self._on_slider, "value")
        ui.seed.observe(self._on_control, "value")
        ui.segment.observe(self._on_segment, "value")
        ui.save.on_click(self._on_save)
        return ui

    @contextlib.contextmanager
    def _sync(self) -> Iterator[None]:
        old, self._syncing = self._syncing, True
        try:
            yield
        finally:
            self._syncing = old

    def _on_slider(self, change: Mapping[str, Any]) -> None:
        if self._syncing:
            return
        if change["new"] == 1:  # 1 segment is not a segmentation: jump to 2 or back to auto
            self._ui.k_slider.value = 2 if change["old"] == 0 else 0
            return
        self._on_control(change)

    def _on_control(self, change: Mapping[str, Any]) -> None:
        if self._syncing:
            return
        ui = self._ui
        self.refit(
            bases=tuple(ui.bases.value),
            method=ui.method.value,
            n_segments=int(ui.k_slider.value),
            random_state=int(ui.seed.value),
        )

    def _on_segment(self, change: Mapping[str, Any]) -> None:
        if self._syncing or change["new"] is None:
            return
        self.select(int(change["new"]))

    def _on_save(self, _button: Any) -> None:
        try:
            path = self.save_config()
        except (ToolkitError, OSError) as exc:
            self._ui.save_status.value = (
                f'<span style="color:#b00020">{html.escape(str(exc))}</span>'
            )
        else:
            self._ui.save_status.value = f"Saved to {html.escape(path.name)}."

    def _set_status_busy(self) -> None:
        if self._ui is not None:
            self._ui.status.value = "<i>Refitting…</i> " + self._status(html_out=True)

    def _refresh_ui(self) -> None:
        ui = self._ui
        if ui is None:
            return
        s, fit = self.settings, self._fit
        with self._sync():
            ui.bases.value = s.bases
            ui.method.value = s.method
            ui.k_slider.value = s.n_segments
            ui.k_slider.disabled = s.method == "hdbscan"
            ui.seed.value = s.random_state
            sizes = fit.segments["segment"].value_counts()
            ui.segment.options = [
                (f"Segment {i} ({int(sizes[i]):,} users)", i) for i in self._segment_ids()
            ]
            ui.segment.value = self._segment if self._segment in self._segment_ids() else None
        ui.status.value = self._status(html_out=True)
        ui.snippet.value = self.config_snippet()
        if not fit.charts:
            self._map_coords(fit)  # timed on its own (once per bases)
        t0 = time.perf_counter()
        charts = self._charts(fit)
        ui.map.value, ui.sizes.value = charts["map"], charts["sizes"]
        ui.heatmap.value, ui.outcomes.value = charts["heatmap"], charts["outcomes"]
        self.timings["charts"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        ui.drill.value = self.drill_down() if self._segment > 0 else ""
        self.timings["drill_down"] = time.perf_counter() - t0

    def _charts(self, fit: _Fit) -> dict[str, bytes]:
        """PNG of the map, sizes, heatmap and outcomes (drawn once per segmentation)."""
        from toolkit import plots

        if fit.charts:
            return fit.charts
        map_df = self.segment_map
        specs = {
            "map": (6.0, 4.6, plots.plot_segment_map, map_df, {"s": 4}),
            "sizes": (5.5, 4.6, plots.plot_segment_sizes, fit.segments, {}),
            "heatmap": (
                6.5,
                views.heatmap_height(fit.profiles, 20),
                plots.plot_profile_heatmap,
                fit.profiles,
                {"max_rows": 20},
            ),
            "outcomes": (6.5, 4.6, plots.plot_outcomes, fit.outcomes, {}),
        }
        for name, (width, height, func, data, kw) in specs.items():
            fig = views.figure(width, height)
            ax = fig.add_subplot()
            views.draw(ax, func, data, **kw)
            if name == "heatmap" and ax.get_title():
                ax.set_title("Index by segment (100 = average)")
            fit.charts[name] = views.to_png(fig)
        return fit.charts


def segment_explorer(
    audience: Any,
    *,
    config: str | os.PathLike[str] | None = None,
    random_state: int = 0,
    static: bool | None = None,
    **kwargs: Any,
) -> SegmentExplorer:
    """Explore segmentations of ``audience`` with controls (JupyterLab) or figures (reports).

    Parameters
    ----------
    audience : Audience
        From :func:`toolkit.load.load_audience` (``table``, ``columns``, ``spec``).
    config : path, optional
        The report config: persona previews use its persona options, and "Save to config" /
        :meth:`SegmentExplorer.save_config` write the chosen settings into it.
    random_state : int, default=0
        Seed of the segmentation (a control) and of the map (fixed).
    static : bool, optional
        True draws figures and HTML instead of widgets, False forces widgets; None detects:
        static outside a kernel and under papermill, nbconvert, nbclient or pytest.
    **kwargs
        Initial settings and options of :class:`SegmentExplorer`: ``n_segments`` (0 = by
        evidence), ``method``, ``bases``, ``k_range``, ``segmenter`` (a fitted segmenter to
        start from, e.g. the notebook's), ``segment`` (drill-down), ``map_method`` ("umap" or
        "pca"), ``map_sample`` (users on the map, default 5,000), ``n_boot`` (bootstrap
        resamples of the intervals, default 200), ``alpha``, ``n_targets``.

    Returns
    -------
    SegmentExplorer
        Displays itself; its state is in ``settings``, ``segmenter``, ``segments``,
        ``n_segments_shown``, ``status_text`` and, interactively, the widgets of ``ui``.

    Examples
    --------
    >>> explorer = segment_explorer(audience, config="report.yaml")  # doctest: +SKIP
    >>> explorer  # doctest: +SKIP
    >>> explorer.refit(n_segments=4, method="gmm").status_text  # doctest: +SKIP
    '4 segments (gmm on demographic + behaviour, seed 0). 4 segments, as chosen by the analyst.'
    """
    return SegmentExplorer(
        audience, config=config, random_state=random_state, static=static, **kwargs
    )
