"""Headless Chromium for the browser tests (Debian's ``chromium`` driven by Playwright).

No browser is downloaded: Playwright is pointed at the system binary. Outside CI the tests skip
with a reason when Chromium is missing; in CI (``CI=true``) a missing Chromium is a failure,
because ``make test`` installs it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(
                "Chromium is missing in CI: `make test` should have installed Debian's chromium"
            )
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class PageWatch:
    """Records console errors, failed requests and requests that leave the machine."""

    def __init__(self, page, allowed_prefixes: tuple[str, ...]):
        self.console_errors: list[str] = []
        self.external: list[str] = []
        self.failed: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        page.on("requestfailed", lambda r: self.failed.append(r.url))

        def route(route_obj):
            url = route_obj.request.url
            if url.startswith(allowed_prefixes):
                route_obj.continue_()
            else:
                self.external.append(url)
                route_obj.abort()

        page.route("**/*", route)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
