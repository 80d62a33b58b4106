"""Shared pytest fixtures: headless plotting, a seeded generator and a small sample audience."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

#: The ``browser`` fixture (headless Debian Chromium through Playwright).
pytest_plugins = ["tests.browser"]

#: Users in the small sample that fast tests share (same generator as the bundled sample).
SMALL_SAMPLE_USERS = 1_500
SMALL_SAMPLE_SEED = 2026


@pytest.fixture(autouse=True)
def close_figures():
    """Close every matplotlib figure after each test."""
    yield
    plt.close("all")


@pytest.fixture
def rng() -> np.random.Generator:
    """A numpy random generator with a fixed seed."""
    return np.random.default_rng(20260601)


@pytest.fixture(scope="session")
def small_sample_dir(tmp_path_factory):
    """A folder holding a 1,500-user sample (users.csv, events.parquet, survey.csv, orders.csv,
    truth.csv) written by :func:`toolkit.samples.write_sample`, plus a copy of the bundled
    ``report.yaml`` when it exists. Treat it as read-only: copy it before changing files."""
    from toolkit.config import SAMPLE_CONFIG
    from toolkit.samples import write_sample

    folder = tmp_path_factory.mktemp("small_sample")
    write_sample(folder, SMALL_SAMPLE_USERS, seed=SMALL_SAMPLE_SEED)
    if SAMPLE_CONFIG.is_file():
        (folder / SAMPLE_CONFIG.name).write_bytes(SAMPLE_CONFIG.read_bytes())
    return folder
