"""Every real dataset in ``../shared/datasets/real`` loads through its spec in ``tests/specs``.

The specs' paths are relative to that folder. A user's clone has no ``../shared``: the tests
skip with the reason; CI has it and runs them. Each loaded table passes the same checks as the
sample (:func:`tests.test_load.check_audience`) plus facts from the dataset's README.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.test_load import check_audience
from toolkit.config import PROJECT_ROOT
from toolkit.errors import DataWarning
from toolkit.load import OTHER, load_audience
from toolkit.spec import DataSpec

REAL_ROOT = PROJECT_ROOT.parent / "shared" / "datasets" / "real"
SPECS_DIR = Path(__file__).parent / "specs"
SPECS = sorted(SPECS_DIR.glob("*.yaml"))

pytestmark = [
    pytest.mark.real,
    pytest.mark.skipif(
        not REAL_ROOT.is_dir(),
        reason="the real datasets (../shared/datasets/real next to the project) are not "
        "present in this clone; CI has them",
    ),
]


def load_real(name: str, **overrides):
    if not (REAL_ROOT / name).is_dir():
        pytest.skip(f"dataset folder {name} is not in ../shared/datasets/real")
    spec = DataSpec.from_yaml(SPECS_DIR / f"{name}.yaml", base_dir=REAL_ROOT)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        audience = load_audience(spec)
    messages = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    return audience, messages


_CACHE: dict[str, tuple] = {}


def real(name: str):
    if name not in _CACHE:
        _CACHE[name] = load_real(name)
    return _CACHE[name]


def test_every_dataset_has_a_spec():
    folders = sorted(p.name for p in REAL_ROOT.iterdir() if p.is_dir())
    assert folders == [p.stem for p in SPECS]


@pytest.mark.parametrize("name", [p.stem for p in SPECS])
def test_loads_and_passes_the_sample_checks(name, tmp_path):
    audience, _ = real(name)
    check_audience(audience, tmp_path)
    assert audience.columns_with_role("demographic", "behaviour")  # something to segment on


def test_bank_marketing():
    audience, _ = real("bank_marketing")
    t = audience.table
    assert len(t) == 41_188 and t["contact_no"].iloc[0] == "00001"
    assert int(t["y"].sum()) == 4_640
    assert "duration" not in t and "euribor3m" not in t
    assert t["pdays"].notna().sum() == 1_515 and t["pdays"].max() < 999  # 999 = never contacted
    assert t["job"].isna().sum() == 330  # "unknown" read as missing
    assert audience.columns.loc["education", "order"][0] == "illiterate"


def test_cdnow_orders_only():
    audience, _ = real("cdnow_transactions")
    t = audience.table
    assert len(t) == 23_570 and t["customer_id"].iloc[0] == "00001"
    assert int(t["orders"].sum()) == 69_659
    assert t["revenue"].sum() == pytest.approx(2_500_315.63, abs=0.01)
    assert audience.columns_with_role("behaviour") == [
        "orders",
        "revenue",
        "avg_order_value",
        "days_since_last_order",
    ]
    assert t["days_since_last_order"].min() == 0 and t["days_since_last_order"].max() <= 546


def test_customer_personality():
    audience, messages = real("customer_personality")
    t = audience.table
    assert len(t) == 2_240 and t["Income"].isna().sum() == 24
    assert t["Dt_Customer"].min() == pd.Timestamp("2012-07-30")
    assert t["Dt_Customer"].max() == pd.Timestamp("2014-06-29")
    assert not audience.columns.loc["Z_CostContact", "usable"]
    assert not audience.columns.loc["Z_Revenue", "usable"]
    assert any("Z_CostContact" in m and "constant" in m for m in messages)
    assert t["Income"].max() == 666_666  # the known outlier is kept, and flagged:
    from toolkit.quality import quality_report

    assert quality_report(audience).loc["Income", "outlier_share"] > 0


def test_customer_personality_dates_are_day_first_without_a_format(tmp_path):
    if not (REAL_ROOT / "customer_personality").is_dir():
        pytest.skip("customer_personality is not in ../shared/datasets/real")
    raw = (SPECS_DIR / "customer_personality.yaml").read_text()
    (tmp_path / "spec.yaml").write_text(raw.replace(', date_format: "%d-%m-%Y"', ""))
    spec = DataSpec.from_yaml(tmp_path / "spec.yaml", base_dir=REAL_ROOT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        detected = load_audience(spec).table["Dt_Customer"]
    pd.testing.assert_series_equal(detected, real("customer_personality")[0].table["Dt_Customer"])


def test_online_shoppers():
    audience, _ = real("online_shoppers_intention")
    t = audience.table
    assert len(t) == 12_330 and t["session"].is_unique
    assert int(t["Revenue"].sum()) == 1_908 and int(t["Weekend"].sum()) == 2_868
    assert t["VisitorType"].value_counts()["Returning_Visitor"] == 10_551
    assert audience.columns.loc["Browser", "kind"] == "categorical"


def test_telco():
    audience, _ = real("telco_customer_churn")
    t = audience.table
    assert len(t) == 7_043 and t["customerID"].iloc[0] == "7590-VHVEG"
    assert t["TotalCharges"].isna().sum() == 11
    assert int(t["Churn"].sum()) == 1_869
    assert audience.columns.loc["Contract", "order"] == ["Month-to-month", "One year", "Two year"]


def test_clothing_reviews():
    audience, messages = real("womens_clothing_reviews")
    t = audience.table
    assert len(t) == 23_486
    assert t["Rating"].value_counts()[5] == 13_131
    assert t["Recommended IND"].mean() == pytest.approx(0.822, abs=0.001)
    assert t["Clothing ID"].nunique() == 30 and OTHER in set(t["Clothing ID"])
    assert any("'Clothing ID'" in m and "1,206 levels" in m for m in messages)
    assert (t["Division Name"] == "Initmates").sum() == 1_502
    assert audience.columns.loc["Review Text", "kind"] == "text"
    assert np.isnan(audience.columns.loc["Age", "scale_min"])
