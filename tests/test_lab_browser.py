"""The segment explorer in a real JupyterLab, driven by headless Chromium.

A JupyterLab server starts on a free local port with a token and a temporary root folder holding
a notebook that loads the small sample and shows ``segment_explorer(...)``. Chromium opens the
notebook, runs all cells from the Run menu, waits for the explorer's slider, moves it with the
keyboard and checks that the status line shows the new number of segments. Screenshots before
and after are kept in ``tests/artifacts``. The server is stopped with its process group.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from tests.browser import PageWatch, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("lab")]

JUPYTER = Path(sys.executable).with_name("jupyter")
START_SECONDS = 120
RUN_SECONDS = int(os.environ.get("LAB_TEST_SECONDS", "240"))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _notebook(config: Path) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import warnings\n"
            "warnings.simplefilter('ignore')\n"
            "from toolkit.load import load_audience\n"
            "from toolkit.widgets import segment_explorer\n"
            f"audience = load_audience({str(config)!r})"
        ),
        nbformat.v4.new_code_cell(
            "explorer = segment_explorer(audience, n_segments=4, map_method='pca')\nexplorer"
        ),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    return nb


def _wait_until_up(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer within {START_SECONDS} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def lab(small_sample_dir, tmp_path_factory):
    """A headless JupyterLab serving a folder with the explorer notebook: (base url, token)."""
    root = tmp_path_factory.mktemp("lab_root")
    state = tmp_path_factory.mktemp("lab_state")
    nbformat.write(_notebook(Path(small_sample_dir) / "report.yaml"), root / "explore.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k != "TOOLKIT_WIDGETS"}
    env.update(
        {
            "JUPYTER_CONFIG_DIR": str(state / "config"),
            "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(state / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces"),
        }
    )
    log = state / "lab.log"
    cmd = [
        str(JUPYTER), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
        "--ServerApp.allow_root=True", "--LabApp.news_url=None",
        "--LabApp.extension_manager=readonly",
        "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
    ]  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{base}/api/status?token={token}", proc, log)
        yield base, token
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)


def _accept_kernel_dialog(page, seconds: float = 5) -> None:
    """Accept the "Select Kernel" dialog (the notebook's python3 kernel) when it shows."""
    accept = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
    try:
        accept.wait_for(state="visible", timeout=seconds * 1000)
    except Exception:  # noqa: BLE001 - no dialog: the kernel started by itself
        return
    accept.click()
    accept.wait_for(state="hidden", timeout=30_000)


def _dismiss_news(page) -> None:
    """Close JupyterLab's "notified about news?" toast so that it hides nothing."""
    no = page.locator(".jp-toast-button", has_text=re.compile(r"^No$"))
    if no.count():
        no.first.click()


def _chart_sources(page) -> list[str]:
    return page.eval_on_selector_all(
        ".toolkit-segment-explorer img", "(imgs) => imgs.map((i) => i.src)"
    )


def test_moving_the_slider_refits_in_jupyterlab(browser, lab):
    base, token = lab
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    page = context.new_page()
    watch = PageWatch(page, allowed_prefixes=(base, "data:", "blob:", "about:"))
    try:
        page.goto(f"{base}/lab/tree/explore.ipynb?token={token}", wait_until="domcontentloaded")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=START_SECONDS * 1000)
        _accept_kernel_dialog(page)
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        _accept_kernel_dialog(page)

        handle = page.locator(".toolkit-segment-explorer .widget-slider .noUi-handle").first
        handle.wait_for(state="visible", timeout=RUN_SECONDS * 1000)
        status = page.locator(".toolkit-segment-explorer .toolkit-status").first
        page.wait_for_function(
            "() => /4 segments/.test(document.querySelector('.toolkit-status')?.innerText || '')",
            timeout=RUN_SECONDS * 1000,
        )
        page.wait_for_function(
            "() => document.querySelectorAll('.toolkit-segment-explorer img').length >= 4"
        )
        _dismiss_news(page)
        status.scroll_into_view_if_needed()
        screenshot(page, "lab-explorer-before")
        sizes_src = _chart_sources(page)[1]

        handle.focus()
        page.keyboard.press("ArrowRight")  # 4 -> 5 segments; refits when released
        page.wait_for_function(
            "() => /5 segments/.test(document.querySelector('.toolkit-status')?.innerText || '')",
            timeout=RUN_SECONDS * 1000,
        )
        page.wait_for_function(  # the status comes first, then the charts are redrawn
            "(old) => document.querySelectorAll('.toolkit-segment-explorer img')[1]?.src !== old",
            arg=sizes_src,
            timeout=RUN_SECONDS * 1000,
        )
        text = status.inner_text()
        assert "5 segments" in text and "4 segments" not in text
        readout = page.locator(".toolkit-segment-explorer .widget-readout").first.inner_text()
        assert readout.strip() == "5"
        screenshot(page, "lab-explorer-after")
        assert watch.external == [], watch.external
    except Exception:
        screenshot(page, "lab-explorer-failure")
        raise
    finally:
        context.close()
