"""End to end on real data: ``toolkit report`` on a public dataset that has no event log.

The bundled sample has every kind of source; a real export often has one table only. This runs
the three templates on the Telco customer churn data (one CSV, no funnel, no survey) through the
same spec the loader tests use, and checks the run folder, the personas and the HTML safety.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from tests.test_real_data import REAL_ROOT, SPECS_DIR
from toolkit.publish import check_run_html
from toolkit.report import run_report

pytestmark = [pytest.mark.slow, pytest.mark.real, pytest.mark.xdist_group("report-real")]

DATASET = "telco_customer_churn"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    if not (REAL_ROOT / DATASET).is_dir():
        pytest.skip(f"../shared/datasets/real/{DATASET} is not present in this clone")
    raw = yaml.safe_load((SPECS_DIR / f"{DATASET}.yaml").read_text(encoding="utf-8"))
    for source in raw["data"]["sources"].values():
        source["path"] = str(REAL_ROOT / source["path"])
    folder = tmp_path_factory.mktemp("telco")
    config = {
        "title": "Telco customers",
        "output": "reports",
        "data": raw["data"],
        "notebooks": {"02-segments": {"map_sample": 3000, "n_bootstrap": 5}},
    }
    path = folder / "report.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return run_report(path, progress=None)


def test_report_on_a_single_table_without_funnel_succeeds(run):
    assert run.ok, run.record.get("error")
    names = {p.name for p in run.run_dir.iterdir()}
    assert {"index.html", "02-segments.html", "personas.json", "targets.csv"} <= names
    assert "funnel.csv" not in names  # no event log, no funnel
    segments = pd.read_csv(run.run_dir / "segments.csv")
    assert len(segments) == 7043 and segments["segment"].between(1, 10).all()


def test_personas_hold_and_reports_are_safe(run):
    personas = json.loads((run.run_dir / "personas.json").read_text(encoding="utf-8"))
    assert personas["personas"], "the target segments of 7,043 customers get personas"
    assert check_run_html(run.run_dir) == []
    ids = pd.read_csv(REAL_ROOT / DATASET / "WA_Fn-UseC_-Telco-Customer-Churn.csv")["customerID"]
    html = "\n".join(p.read_text(encoding="utf-8") for p in run.run_dir.glob("*.html"))
    leaked = [i for i in ids.head(500) if i in html]
    assert leaked == [], f"customer ids in the report: {leaked[:5]}"
