"""Helpers of :mod:`toolkit.widgets`: report config edits and interactive-or-static detection.

:func:`set_notebook_parameters` writes parameters of one template into a report config
(``notebooks: <template>: <name>: value``). It edits the lines of those keys only, so comments
and layout elsewhere survive; when the file's layout is too unusual for that (flow style, odd
indentation) it rewrites the whole file with PyYAML, which keeps every value but drops the
comments. Either way the result is checked by parsing it again, and the file is replaced
atomically.

:func:`static_display` tells whether explorers should draw figures instead of widgets: yes
outside an IPython kernel and when a batch runner (papermill, nbconvert, nbclient, nbval or
pytest) started the kernel; ``TOOLKIT_WIDGETS=static`` or ``interactive`` overrides it.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from toolkit.errors import ConfigError

__all__ = ["set_notebook_parameters", "static_display", "read_config"]

#: Words in the command line of a kernel's parent process that mean a batch run.
_BATCH = re.compile(r"papermill|nbconvert|nbclient|nbval|jupyter[-_ ]execute|pytest|py\.test")
#: Words that mean a live Jupyter frontend (widgets work).
_LIVE = re.compile(
    r"jupyter[-_ ]?(lab|notebook|server)|jupyterlab|jupyter_server|notebook\.app|voila|jupyterhub"
)


# --------------------------------------------------------------------------------------------
# interactive or static
# --------------------------------------------------------------------------------------------
def static_display(static: bool | None = None) -> bool:
    """Whether to draw static figures instead of widgets (``static=None``: detect).

    Examples
    --------
    >>> static_display(True), static_display(False)
    (True, False)
    """
    if static is not None:
        return bool(static)
    forced = os.environ.get("TOOLKIT_WIDGETS", "").strip().lower()
    if forced in ("static", "interactive"):
        return forced == "static"
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return True
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return True  # a plain script or terminal IPython: nothing can show widgets
    return _started_by_batch_runner()


def _started_by_batch_runner(max_depth: int = 4) -> bool:
    """Walk up the kernel's parent processes; the first that names a runner decides."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with ipykernel
        return False
    try:
        proc = psutil.Process().parent()
        for _ in range(max_depth):
            if proc is None:
                return False
            head = " ".join(os.path.basename(part) for part in proc.cmdline()[:3])
            if _LIVE.search(head):
                return False
            if _BATCH.search(head):
                return True
            proc = proc.parent()
    except (psutil.Error, OSError):
        return False
    return False


# --------------------------------------------------------------------------------------------
# config edits
# --------------------------------------------------------------------------------------------
def read_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The report config at ``path`` as a dict (ConfigError when it is missing or invalid)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"Report config {p} does not exist; pass the path of a report YAML.")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"Report config {p} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"Report config {p} must be a mapping, got {type(raw).__name__}.")
    return raw


def set_notebook_parameters(
    path: str | os.PathLike[str], notebook: str, values: Mapping[str, Any]
) -> bool:
    """Set ``notebooks: <notebook>: <name>: value`` for each of ``values`` in a report config.

    The lines of the keys concerned are edited in place, keeping the comments and layout of
    the rest of the file; a file whose layout does not allow that is rewritten with PyYAML
    (same values, comments lost). The file is replaced atomically, and only when a value
    changes.

    Returns
    -------
    bool
        Whether the file was written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> cfg = pathlib.Path(tempfile.mkdtemp()) / "report.yaml"
    >>> text = "data: {}  # the spec\\nnotebooks:\\n  02-segments:\\n    n_segments: 0\\n"
    >>> _ = cfg.write_text(text)
    >>> set_notebook_parameters(cfg, "02-segments", {"n_segments": 6, "method": "gmm"})
    True
    >>> print(cfg.read_text(), end="")
    data: {}  # the spec
    notebooks:
      02-segments:
        n_segments: 6
        method: gmm
    """
    from toolkit.runs import atomic_write_text

    p = Path(path)
    raw = read_config(p)
    want = copy.deepcopy(raw)
    notebooks = want.get("notebooks")
    if notebooks is None:
        notebooks = want["notebooks"] = {}
    if not isinstance(notebooks, dict):
        raise ConfigError(f"Report config {p}: 'notebooks' must be a mapping.")
    params = notebooks.get(notebook)
    if params is None:
        params = notebooks[notebook] = {}
    if not isinstance(params, dict):
        raise ConfigError(f"Report config {p}: 'notebooks: {notebook}' must be a mapping.")
    values = {str(k): _plain(v) for k, v in values.items()}
    if all(k in params and params[k] == v for k, v in values.items()):
        return False
    params.update(values)
    text = p.read_text(encoding="utf-8")
    new = _edit_lines(text, notebook, values)
    if new is None or _parse(new) != want:
        new = yaml.safe_dump(want, sort_keys=False, allow_unicode=True, default_flow_style=False)
    atomic_write_text(p, new)
    return True


def _plain(value: Any) -> Any:
    """Builtin types only (numpy scalars, tuples), so that YAML writes plain values."""
    if isinstance(value, Mapping):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


def _parse(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def _inline(value: Any) -> str | None:
    """``value`` as one line of YAML flow style, or None when it needs a block."""
    if isinstance(value, Mapping) and value:
        return None
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**9)
    text = text.removesuffix("\n").removesuffix("\n...").strip()
    return None if "\n" in text else text


def _render(key: str, value: Any, indent: int) -> list[str]:
    pad = " " * indent
    one = _inline(value)
    name = _inline(key)
    if one is not None:
        return [f"{pad}{name}: {one}\n"]
    block = yaml.safe_dump({key: value}, sort_keys=False, allow_unicode=True, width=99)
    return [f"{pad}{line}\n" for line in block.splitlines()]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _content(line: str) -> bool:
    """A line that holds YAML content (not blank, not only a comment)."""
    s = line.strip()
    return bool(s) and not s.startswith("#")


def _key_line(line: str, key: str) -> re.Match[str] | None:
    quoted = rf"(?:{re.escape(key)}|'{re.escape(key)}'|\"{re.escape(key)}\")"
    return re.match(rf"^( *){quoted}:(?P<rest>.*?)(?P<comment>\s+#.*)?\n?$", line)


def _block_end(lines: list[str], start: int, indent: int) -> int:
    """Index after the last content line indented deeper than ``indent`` following ``start``."""
    end = start + 1
    for i in range(start + 1, len(lines)):
        if _content(lines[i]):
            dash = _indent(lines[i]) == indent and lines[i].lstrip().startswith("- ")
            if _indent(lines[i]) <= indent and not dash:
                break
            end = i + 1
    return end


def _find_child(lines: list[str], lo: int, hi: int, key: str, indent: int) -> int | None:
    for i in range(lo, hi):
        if _content(lines[i]) and _indent(lines[i]) == indent and _key_line(lines[i], key):
            return i
    return None


def _child_indent(lines: list[str], lo: int, hi: int, default: int) -> int:
    for i in range(lo, hi):
        if _content(lines[i]):
            return _indent(lines[i])
    return default


def _edit_lines(text: str, notebook: str, values: Mapping[str, Any]) -> str | None:
    """Edit the block-style YAML ``text`` line by line; None when its layout is unusual."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    top = _find_child(lines, 0, len(lines), "notebooks", 0)
    if top is None:
        lines += ["notebooks:\n", f"  {notebook}:\n"]
        lines += [s for k, v in values.items() for s in _render(k, v, 4)]
        return "".join(lines)
    if _key_line(lines[top], "notebooks").group("rest").strip():
        return None  # flow style (notebooks: {...})
    top_end = _block_end(lines, top, 0)
    step = _child_indent(lines, top + 1, top_end, 2)
    if step <= 0:
        return None
    nb = _find_child(lines, top + 1, top_end, notebook, step)
    if nb is None:
        new = [f"{' ' * step}{notebook}:\n"]
        new += [s for k, v in values.items() for s in _render(k, v, 2 * step)]
        lines[top_end:top_end] = new
        return "".join(lines)
    if _key_line(lines[nb], notebook).group("rest").strip():
        return None
    for key, value in values.items():
        nb_end = _block_end(lines, nb, step)
        inner = _child_indent(lines, nb + 1, nb_end, 2 * step)
        if inner <= step:
            return None
        at = _find_child(lines, nb + 1, nb_end, key, inner)
        if at is None:
            lines[nb_end:nb_end] = _render(key, value, inner)
            continue
        old = _key_line(lines[at], key)
        end = _block_end(lines, at, inner)
        new = _render(key, value, inner)
        if len(new) == 1 and end == at + 1 and old.group("comment"):
            new = [new[0].rstrip("\n") + old.group("comment") + "\n"]  # keep the comment
        lines[at:end] = new
    return "".join(lines)
