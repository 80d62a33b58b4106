"""Run folders: the on-disk contract between the notebooks, the report command and other tools.

A run folder holds everything one report run produced: the executed notebooks, their HTML, the
tables they wrote, ``run.json`` and ``index.html``. Each notebook ends by writing a completion
record (:func:`mark_notebook_complete`); the report command trusts a notebook only when that
record exists. The ``latest`` pointer of an output folder names the newest *good* run and is only
ever replaced atomically.

Examples
--------
>>> import tempfile
>>> from toolkit.runs import atomic_write_text
>>> folder = tempfile.mkdtemp()
>>> path = atomic_write_text(f"{folder}/hello.txt", "hi")
>>> path.read_text()
'hi'
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "COMPLETION_DIR",
    "atomic_write_text",
    "atomic_write_bytes",
    "atomic_path",
    "write_json",
    "data_fingerprint",
    "new_run_dir",
    "mark_notebook_complete",
    "completion_record",
    "latest_run",
    "set_latest_run",
    "previous_good_run",
]

COMPLETION_DIR = ".complete"
LATEST_LINK = "latest"
LATEST_FILE = "LATEST"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` and move it into place only if the block succeeds.

    A crash inside the block leaves any previous file at ``path`` untouched and no partial file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "table.csv"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("a,b\\n1,2\\n")
    >>> target.read_text()
    'a,b\\n1,2\\n'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, then rename)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically, with LF line endings."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike[str], payload: Any) -> Path:
    """Write ``payload`` as stable, indented JSON (sorted keys) atomically."""
    text = json.dumps(payload, indent=2, sort_keys=True, default=_json_default, ensure_ascii=False)
    return atomic_write_text(path, text + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serialisable")


def data_fingerprint(paths: Iterable[str | os.PathLike[str]], extra: str = "") -> str:
    """Return a short SHA-256 fingerprint of the given files' bytes (and of ``extra`` text).

    The fingerprint names the data a run saw: the same files give the same fingerprint.
    """
    digest = hashlib.sha256(extra.encode("utf-8"))
    for path in sorted(Path(p) for p in paths):
        digest.update(path.name.encode("utf-8"))
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:8]


def new_run_dir(
    out_dir: str | os.PathLike[str], fingerprint: str, now: datetime | None = None
) -> Path:
    """Create and return a fresh run folder ``out_dir/<UTC timestamp>-<fingerprint>``.

    Never reuses an existing folder: a suffix is added when two runs start in the same second.
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = f"{stamp}-{fingerprint}"
    candidate = out / name
    suffix = 1
    while True:
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            suffix += 1
            candidate = out / f"{name}-{suffix}"


def mark_notebook_complete(run_dir: str | os.PathLike[str], notebook: str, **details: Any) -> Path:
    """Write the completion record of ``notebook`` into ``run_dir``.

    The last cell of every template calls this. A notebook that stopped early (``sys.exit``,
    a dead kernel, a timeout) never writes it, so the report command can tell.
    """
    record = {"notebook": notebook, "completed_at": datetime.now(UTC).isoformat(), **details}
    return write_json(Path(run_dir) / COMPLETION_DIR / f"{notebook}.json", record)


def completion_record(run_dir: str | os.PathLike[str], notebook: str) -> dict[str, Any] | None:
    """Return the completion record of ``notebook`` in ``run_dir``, or ``None`` if absent."""
    path = Path(run_dir) / COMPLETION_DIR / f"{notebook}.json"
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def latest_run(out_dir: str | os.PathLike[str]) -> Path | None:
    """Return the run folder that ``out_dir``'s ``latest`` pointer names, or ``None``."""
    out = Path(out_dir)
    pointer = out / LATEST_FILE
    if pointer.exists():
        target = out / pointer.read_text(encoding="utf-8").strip()
        if target.is_dir():
            return target
    link = out / LATEST_LINK
    if link.is_symlink() and link.resolve().is_dir():
        return link.resolve()
    return None


def set_latest_run(out_dir: str | os.PathLike[str], run_dir: str | os.PathLike[str]) -> None:
    """Point ``out_dir/latest`` (a relative symlink) and ``out_dir/LATEST`` at ``run_dir``."""
    out = Path(out_dir)
    name = Path(run_dir).name
    atomic_write_text(out / LATEST_FILE, name + "\n")
    tmp_link = out / f".{LATEST_LINK}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp_link.unlink()
    try:
        os.symlink(name, tmp_link)
        os.replace(tmp_link, out / LATEST_LINK)
    except OSError:  # file systems without symlinks: the LATEST file is enough
        with contextlib.suppress(FileNotFoundError):
            tmp_link.unlink()


def previous_good_run(
    out_dir: str | os.PathLike[str], exclude: str | os.PathLike[str] | None = None
) -> Path | None:
    """Return the latest good run of ``out_dir`` other than ``exclude``, if any."""
    run = latest_run(out_dir)
    if run is None or (exclude is not None and run.resolve() == Path(exclude).resolve()):
        return None
    return run
