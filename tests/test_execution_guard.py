"""A notebook counts as good only when papermill exits 0, it shows no error and it completed.

Papermill alone is not enough: ``sys.exit(0)`` in a cell counts as success and a dead kernel can
leave a notebook without any error output. These tests run real kernels on tiny notebooks.
"""

from __future__ import annotations

import nbformat
import pytest

from toolkit.report import _execute_notebook

pytestmark = pytest.mark.xdist_group("kernels")


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('config = ""\nrun_dir = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params] + [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


COMPLETE = (
    "from toolkit.runs import mark_notebook_complete\nmark_notebook_complete(run_dir, 'guard')"
)


@pytest.fixture
def run_dir(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    return folder


def _run(tmp_path, run_dir, *sources, timeout=120):
    source = _notebook(tmp_path / "guard.ipynb", *sources)
    return _execute_notebook(source, {"config": "", "run_dir": str(run_dir)}, run_dir, timeout)


def test_clean_notebook_is_ok(tmp_path, run_dir):
    entry = _run(tmp_path, run_dir, "x = 1", COMPLETE)
    assert entry["outcome"] == "ok", entry
    assert (run_dir / "guard.ipynb").exists()


def test_failing_cell_fails_and_keeps_notebook(tmp_path, run_dir):
    entry = _run(tmp_path, run_dir, "raise ValueError('planted failure')", COMPLETE)
    assert entry["outcome"] == "failed"
    assert "planted failure" in entry["error"]
    assert (run_dir / "guard.ipynb").exists()


def test_sys_exit_zero_is_not_success(tmp_path, run_dir):
    entry = _run(tmp_path, run_dir, "import sys\nsys.exit(0)", COMPLETE)
    assert entry["outcome"] == "failed"


def test_dead_kernel_is_not_success(tmp_path, run_dir):
    entry = _run(tmp_path, run_dir, "import os\nos._exit(1)", COMPLETE)
    assert entry["outcome"] == "failed"


def test_timeout_kills_the_notebook(tmp_path, run_dir):
    entry = _run(tmp_path, run_dir, "import time\ntime.sleep(600)", COMPLETE, timeout=15)
    assert entry["outcome"] == "failed"
    assert "timed out" in entry["error"]
