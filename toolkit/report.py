"""The report pipeline: run the notebook templates with papermill into a run folder.

``toolkit report CONFIG`` (and :func:`run_report`) validates the config and every parameter before
any notebook runs, executes the templates in order with papermill in a fresh run folder, checks
that each one really completed, renders them to self-contained HTML, writes ``run.json`` and
``index.html`` and, only when everything succeeded, moves the ``latest`` pointer.

Examples
--------
>>> from toolkit.config import SAMPLE_CONFIG
>>> from toolkit.report import load_report_config
>>> cfg = load_report_config(SAMPLE_CONFIG)
>>> sorted(cfg.notebook_parameters)
['01-explore', '02-segments', '03-personas']
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from toolkit import runs
from toolkit.config import NOTEBOOKS, NOTEBOOKS_DIR, numba_cache_dir
from toolkit.errors import ConfigError, DataError, ReportError, SpecError

__all__ = ["ReportConfig", "RunResult", "load_report_config", "run_report", "notebook_parameters"]

_CONFIG_KEYS = {"title", "output", "timeout", "show_code", "data", "parameters", "notebooks"}
_TYPE_NAMES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}
_REPORTED_PACKAGES = (
    "audience-toolkit",
    "pandas",
    "numpy",
    "scikit-learn",
    "umap-learn",
    "duckdb",
    "papermill",
    "nbconvert",
    "seaborn",
)


@dataclass
class ReportConfig:
    """A validated report config.

    Attributes
    ----------
    path : Path
        The config file; relative paths inside it are relative to its folder.
    title : str
        Title shown on ``index.html``.
    output : Path
        Folder that receives one run folder per run.
    timeout : float
        Seconds one notebook may run before the run is stopped and marked failed.
    show_code : bool
        Keep code cells in the rendered HTML.
    notebook_parameters : dict
        Parameters per template name (``"02-segments"``), merged from ``parameters`` (shared)
        and ``notebooks.<name>``; ``config`` and ``run_dir`` are added at run time.
    data_files : list of Path
        The data files the spec names (used for the run's data fingerprint).
    """

    path: Path
    title: str
    output: Path
    timeout: float
    show_code: bool
    notebook_parameters: dict[str, dict[str, Any]]
    data_files: list[Path] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class RunResult:
    """What one report run produced."""

    run_dir: Path
    ok: bool
    record: dict[str, Any]

    @property
    def index(self) -> Path:
        return self.run_dir / "index.html"


def notebook_parameters(notebook: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Return the parameters a template declares, as papermill sees them.

    Examples
    --------
    >>> params = notebook_parameters("02-segments")
    >>> params["n_segments"]["inferred_type_name"]
    'int'
    """
    import papermill

    path = _notebook_path(notebook)
    return dict(papermill.inspect_notebook(str(path)))


def _notebook_path(notebook: str | os.PathLike[str]) -> Path:
    """A template's name (``02-segments`` or ``02-segments.ipynb``) or a path to a notebook."""
    path = Path(notebook)
    if path.suffix != ".ipynb":
        return NOTEBOOKS_DIR / f"{path.name}.ipynb"
    if len(path.parts) == 1 and not path.exists():
        return NOTEBOOKS_DIR / path.name
    return path


def load_report_config(
    path: str | os.PathLike[str], overrides: Sequence[tuple[str, str]] | None = None
) -> ReportConfig:
    """Read and validate a report config, applying ``-p NAME VALUE`` style ``overrides``.

    Raises :class:`~toolkit.errors.ConfigError` naming the key and what was expected.
    """
    cfg_path = Path(path).expanduser().resolve()
    if not cfg_path.is_file():
        raise ConfigError(
            f"Report config {cfg_path} does not exist. Pass the path of a YAML config such as "
            "data-samples/shop/report.yaml."
        )
    try:
        raw = yaml.safe_load(cfg_path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"Report config {cfg_path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(
            f"Report config {cfg_path} must be a mapping of keys, got {type(raw).__name__}."
        )
    unknown = sorted(set(raw) - _CONFIG_KEYS)
    if unknown:
        raise ConfigError(
            f"Report config {cfg_path} has unknown key(s) {unknown}; "
            f"expected some of {sorted(_CONFIG_KEYS)}."
        )
    if "data" not in raw:
        raise ConfigError(f"Report config {cfg_path} has no 'data' section (the data spec).")
    base = cfg_path.parent
    output = base / str(raw.get("output", "reports"))
    timeout = raw.get("timeout", 1800)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        raise ConfigError(
            f"Report config {cfg_path}: 'timeout' must be a positive number of seconds, "
            f"got {timeout!r}."
        )
    show_code = raw.get("show_code", False)
    if not isinstance(show_code, bool):
        raise ConfigError(
            f"Report config {cfg_path}: 'show_code' must be true or false, got {show_code!r}."
        )

    declared = {name.removesuffix(".ipynb"): notebook_parameters(name) for name in NOTEBOOKS}
    shared = raw.get("parameters") or {}
    per_notebook = raw.get("notebooks") or {}
    if not isinstance(shared, dict) or not isinstance(per_notebook, dict):
        raise ConfigError(
            f"Report config {cfg_path}: 'parameters' and 'notebooks' must be mappings."
        )
    unknown_nb = sorted(set(per_notebook) - set(declared))
    if unknown_nb:
        raise ConfigError(
            f"Report config {cfg_path}: unknown notebook(s) {unknown_nb} under 'notebooks'; "
            f"the templates are {sorted(declared)}."
        )
    params: dict[str, dict[str, Any]] = {name: {} for name in declared}
    for key, value in shared.items():
        targets = [nb for nb, decl in declared.items() if key in decl]
        if not targets:
            raise ConfigError(_unknown_parameter(cfg_path, key, declared))
        for nb in targets:
            params[nb][key] = value
    for nb, values in per_notebook.items():
        for key, value in (values or {}).items():
            if key not in declared[nb]:
                raise ConfigError(_unknown_parameter(cfg_path, key, {nb: declared[nb]}))
            params[nb][key] = value
    for key, text in overrides or ():
        targets = [nb for nb, decl in declared.items() if key in decl]
        if not targets:
            raise ConfigError(_unknown_parameter(Path("-p"), key, declared))
        for nb in targets:
            params[nb][key] = _parse_cli_value(text, declared[nb][key])
    for nb, values in params.items():
        for key, value in values.items():
            _check_type(nb, key, value, declared[nb][key])
            if key in {"config", "run_dir"}:
                raise ConfigError(
                    f"Parameter {key!r} is set by the report command; remove it from the config."
                )

    data_files = _validate_data(cfg_path)
    return ReportConfig(
        path=cfg_path,
        title=str(raw.get("title", "Audience report")),
        output=output.resolve(),
        timeout=float(timeout),
        show_code=show_code,
        notebook_parameters=params,
        data_files=data_files,
        raw=raw,
    )


def _unknown_parameter(cfg_path: Path, key: str, declared: Mapping[str, Mapping[str, Any]]) -> str:
    known = sorted({p for decl in declared.values() for p in decl} - {"config", "run_dir"})
    return (
        f"{cfg_path}: unknown parameter {key!r}; no template declares it. "
        f"Known parameters: {', '.join(known)}."
    )


def _parse_cli_value(text: str, declaration: Mapping[str, Any]) -> Any:
    kind = declaration.get("inferred_type_name", "None")
    if kind == "str":
        return text
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _check_type(notebook: str, key: str, value: Any, declaration: Mapping[str, Any]) -> None:
    kind = str(declaration.get("inferred_type_name", "None")).split("[")[0]
    expected = _TYPE_NAMES.get(kind)
    if kind == "list" and not isinstance(value, list):
        expected = (list,)
    elif expected is None:
        return
    if isinstance(value, bool) and bool not in expected:
        ok = False
    else:
        ok = isinstance(value, expected)
    if not ok:
        raise ConfigError(
            f"Parameter {key!r} of notebook {notebook} must be {kind} "
            f"(declared as {declaration.get('default')!s}), "
            f"got {value!r} ({type(value).__name__})."
        )


def _validate_data(cfg_path: Path) -> list[Path]:
    """Validate the data spec and return the data files it names."""
    from toolkit.spec import load_spec

    try:
        spec = load_spec(cfg_path)
    except (SpecError, DataError) as exc:
        raise ConfigError(f"The data spec in {cfg_path} is invalid: {exc}") from None
    files = []
    for source in spec.sources:
        path = getattr(source, "path", None)
        if path is None:
            continue
        path = Path(path)
        if not path.exists():
            raise ConfigError(
                f"The data spec in {cfg_path} names source {source.name!r} at {path}, "
                "which does not exist. "
                "Paths in a config are relative to the config file's folder."
            )
        if path.is_file():
            files.append(path)
    return files


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _REPORTED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


class _Terminated(Exception):
    """Raised inside the report process when it receives SIGTERM."""


def run_report(
    config: str | os.PathLike[str] | ReportConfig,
    *,
    out: str | os.PathLike[str] | None = None,
    overrides: Sequence[tuple[str, str]] | None = None,
    show_code: bool | None = None,
    timeout: float | None = None,
    notebooks: Sequence[str] = NOTEBOOKS,
    progress: Callable[[str], None] | None = print,
) -> RunResult:
    """Run the templates with papermill into a new run folder and publish the report.

    Parameters
    ----------
    config : path or ReportConfig
        The report config (see ``data-samples/shop/report.yaml``).
    out : path, optional
        Folder receiving the run folder; default the config's ``output``.
    overrides : sequence of (name, value), optional
        Parameter overrides as given to ``-p NAME VALUE``.
    show_code : bool, optional
        Keep code in the rendered HTML (default: the config's ``show_code``, else hidden).
    timeout : float, optional
        Seconds per notebook (default: the config's ``timeout``).

    Returns
    -------
    RunResult
        ``ok`` is True only when every notebook exited cleanly, shows no error and wrote its
        completion record. On failure the executed notebooks stay in the run folder and the
        output folder's ``latest`` pointer is left where it was.
    """
    cfg = config if isinstance(config, ReportConfig) else load_report_config(config, overrides)
    out_dir = Path(out).resolve() if out is not None else cfg.output
    show = cfg.show_code if show_code is None else show_code
    limit = cfg.timeout if timeout is None else float(timeout)
    say = progress or (lambda _msg: None)

    fingerprint = runs.data_fingerprint(cfg.data_files, extra=cfg.path.read_text(encoding="utf-8"))
    run_dir = runs.new_run_dir(out_dir, fingerprint)
    previous = runs.latest_run(out_dir)
    started = datetime.now(UTC)
    record: dict[str, Any] = {
        "title": cfg.title,
        "config": str(cfg.path),
        "data_fingerprint": fingerprint,
        "data_files": [p.name for p in cfg.data_files],
        "started": started.isoformat(),
        "outcome": "running",
        "parameters": {},
        "notebooks": [],
        "versions": _versions(),
        "previous_run": previous.name if previous else None,
    }
    runs.write_json(run_dir / "run.json", record)
    say(f"Run folder: {run_dir}")

    old_handler = _install_sigterm()
    failure: str | None = None
    warmup = _start_umap_warmup(cfg, notebooks, run_dir)
    try:
        for i, name in enumerate(notebooks, 1):
            stem = name.removesuffix(".ipynb")
            params = {
                **cfg.notebook_parameters.get(stem, {}),
                "config": str(cfg.path),
                "run_dir": str(run_dir),
            }
            record["parameters"][stem] = params
            say(f"[{i}/{len(notebooks)}] {stem} ...")
            entry = _execute_notebook(NOTEBOOKS_DIR / f"{stem}.ipynb", params, run_dir, limit)
            record["notebooks"].append(entry)
            runs.write_json(run_dir / "run.json", record)
            say(f"[{i}/{len(notebooks)}] {stem}: {entry['outcome']} in {entry['seconds']:.1f} s")
            if entry["outcome"] != "ok":
                failure = f"{stem}: {entry['error']}"
                break
        if failure is None:
            t0 = time.perf_counter()
            from toolkit.publish import publish_run

            publish_run(run_dir, record, previous_run=previous, show_code=show)
            record["render_seconds"] = round(time.perf_counter() - t0, 2)
            say(f"Rendered HTML in {record['render_seconds']:.1f} s")
    except _Terminated:
        failure = "terminated by SIGTERM"
    except KeyboardInterrupt:
        failure = "interrupted"
    except ReportError as exc:
        failure = str(exc)
    finally:
        if warmup is not None and warmup.poll() is None:
            _kill_group(warmup)
        _restore_sigterm(old_handler)
        ended = datetime.now(UTC)
        record["ended"] = ended.isoformat()
        record["seconds"] = round((ended - started).total_seconds(), 2)
        record["outcome"] = "failed" if failure else "ok"
        if failure:
            record["error"] = failure
            _render_failed(run_dir, record)
        runs.write_json(run_dir / "run.json", record)

    if failure is None:
        runs.set_latest_run(out_dir, run_dir)
        say(f"Report ready: {run_dir / 'index.html'}")
    else:
        kept = runs.latest_run(out_dir)
        say(f"Run FAILED ({failure}). Executed notebooks are kept in {run_dir}.")
        if kept is not None:
            say(f"The last good report is unchanged: {kept / 'index.html'}")
    return RunResult(run_dir=run_dir, ok=failure is None, record=record)


def _start_umap_warmup(
    cfg: ReportConfig, notebooks: Sequence[str], run_dir: Path
) -> subprocess.Popen | None:
    """Compile UMAP into numba's disk cache beside the first notebook, when the cache is empty.

    The first notebook leaves a core idle; compiling there saves ``02-segments`` about 25
    seconds on a fresh machine. The map waits for the warm-up (a lock on the cache folder).
    """
    stems = [n.removesuffix(".ipynb") for n in notebooks]
    if "02-segments" not in stems or stems[0] == "02-segments":
        return None
    if cfg.notebook_parameters.get("02-segments", {}).get("map_method", "umap") != "umap":
        return None
    from toolkit.embedding import umap_cache_ready

    if umap_cache_ready():  # this also sets NUMBA_CACHE_DIR, which the warm-up inherits
        return None
    code = "from toolkit.embedding import warm_umap_cache\nwarm_umap_cache()\n"
    log_path = run_dir / "logs" / "umap-warmup.log"
    log_path.parent.mkdir(exist_ok=True)
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-c", code],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _install_sigterm():
    def handler(signum, frame):  # noqa: ARG001
        raise _Terminated()

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not in the main thread
        return None


def _restore_sigterm(previous) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def _execute_notebook(
    source: Path, params: dict[str, Any], run_dir: Path, timeout: float
) -> dict[str, Any]:
    """Execute one notebook with the papermill CLI in its own process group.

    A notebook counts as good only when papermill exits 0, no cell shows an error and the
    notebook wrote its completion record (a ``sys.exit(0)`` or a dead kernel never does).
    """
    stem = source.stem
    output = run_dir / f"{stem}.ipynb"
    with tempfile.NamedTemporaryFile(
        "w", suffix=".yaml", delete=False, encoding="utf-8"
    ) as handle:
        yaml.safe_dump(params, handle, sort_keys=True)
        params_file = handle.name
    log_path = run_dir / "logs" / f"{stem}.log"
    log_path.parent.mkdir(exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "toolkit._papermill",  # papermill's CLI, less an optional import (toolkit._startup)
        str(source),
        str(output),
        "-f",
        params_file,
        "--kernel",
        "python3",
        "--cwd",
        str(run_dir),
        "--no-progress-bar",
        "--log-level",
        "WARNING",
    ]
    # Charts must reach the notebook: the inline backend, whatever the caller's MPLBACKEND is.
    env = {
        **os.environ,
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "PYTHONHASHSEED": "0",
    }
    env.setdefault("NUMBA_CACHE_DIR", str(numba_cache_dir()))
    t0 = time.perf_counter()
    entry: dict[str, Any] = {
        "notebook": stem,
        "output": output.name,
        "started": datetime.now(UTC).isoformat(),
    }
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            code = proc.wait(timeout=timeout)
            error = None if code == 0 else f"papermill exited with code {code}"
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            code, error = None, f"timed out after {timeout:g} s"
        except BaseException:
            _kill_group(proc)
            raise
        finally:
            Path(params_file).unlink(missing_ok=True)
    entry["seconds"] = round(time.perf_counter() - t0, 2)
    entry["exit_code"] = code
    if error is None:
        error = _notebook_error(output) or (
            None
            if runs.completion_record(run_dir, stem)
            else "the notebook stopped before its last cell (no completion record)"
        )
    elif output.exists():
        error = f"{error}; {_notebook_error(output) or 'see the executed notebook'}"
    entry["outcome"] = "ok" if error is None else "failed"
    entry["error"] = error
    entry["log"] = str(log_path.relative_to(run_dir))
    return entry


def _kill_group(proc: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


def _notebook_error(path: Path) -> str | None:
    """Return the first error shown in an executed notebook, or None."""
    if not path.exists():
        return "no executed notebook was written"
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        return f"the executed notebook is unreadable ({exc})"
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip()
    return None


def _render_failed(run_dir: Path, record: dict[str, Any]) -> None:
    """Render what exists of a failed run (with code visible) so it can be debugged."""
    try:
        from toolkit.publish import render_notebook

        for entry in record.get("notebooks", []):
            path = run_dir / entry["output"]
            if path.exists():
                render_notebook(path, path.with_suffix(".html"), show_code=True)
    except Exception as exc:  # rendering a broken notebook must never hide the real failure
        record["render_error"] = f"{type(exc).__name__}: {exc}"
