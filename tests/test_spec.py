"""The data spec: parsing, defaults, validation with clear errors."""

from __future__ import annotations

import pytest
import yaml

from toolkit.config import SAMPLE_DIR
from toolkit.errors import SpecError
from toolkit.spec import ROLES, DataSpec, load_spec


def spec_of(sources, **data):
    return DataSpec.from_dict({"sources": sources, **data}, "/data")


def users(**columns):
    return {"path": "users.csv", "columns": {"user_id": "id", **columns}}


class TestSampleSpec:
    def test_sample_config_names_its_four_sources(self):
        spec = load_spec(SAMPLE_DIR / "report.yaml")
        assert [s.name for s in spec.sources] == ["users", "survey", "events", "orders"]

    def test_fields(self):
        spec = load_spec(SAMPLE_DIR / "report.yaml")
        assert spec.id == "user_id" and spec.timezone == "Europe/Berlin"
        assert spec.session_gap_minutes == 30.0
        assert spec.base.name == "users"
        assert spec.source("users").path == (SAMPLE_DIR / "users.csv").resolve()
        assert spec.source("users").column("income_band").order == ("low", "middle", "high")
        assert spec.source("survey").column("nps").scale == (0.0, 10.0)
        assert spec.events.funnel[-1] == "purchase" and spec.events.id == "user_id"
        assert spec.orders.amount == "amount" and spec.orders.id == "user_id"
        assert spec.source("users").format == "csv" and spec.events.format == "parquet"
        assert "email" not in spec.source("users").used_columns  # pii is never read

    def test_round_trip_through_dict(self, tmp_path):
        spec = load_spec(SAMPLE_DIR / "report.yaml")
        again = DataSpec.from_dict(spec.to_dict(), spec.base_dir)
        assert again == spec


class TestForms:
    def test_bare_spec_and_config_with_data_key(self, tmp_path):
        data = {"sources": {"users": users(age="demographic")}}
        (tmp_path / "bare.yaml").write_text(yaml.safe_dump(data))
        (tmp_path / "config.yaml").write_text(yaml.safe_dump({"title": "x", "data": data}))
        a = load_spec(tmp_path / "bare.yaml")
        b = load_spec(tmp_path / "config.yaml")
        assert a.to_dict() == b.to_dict()
        assert a.source("users").path == tmp_path / "users.csv"

    def test_base_dir_override(self, tmp_path):
        (tmp_path / "s.yaml").write_text(
            yaml.safe_dump({"sources": {"users": users(age="demographic")}})
        )
        spec = DataSpec.from_yaml(tmp_path / "s.yaml", base_dir=tmp_path / "elsewhere")
        assert spec.base.path == tmp_path / "elsewhere" / "users.csv"

    def test_mapping_and_spec_pass_through(self):
        spec = load_spec({"data": {"sources": {"users": users(age="demographic")}}})
        assert load_spec(spec) is spec

    def test_row_id_and_id_null(self):
        a = spec_of({"rows": {"path": "a.csv", "row_id": True, "columns": {"x": "behaviour"}}})
        b = spec_of({"rows": {"path": "a.csv", "id": None, "columns": {"x": "behaviour"}}})
        assert a.base.row_id and b.base.row_id and a.base.id is None
        assert a.id == "row_id"
        named = spec_of(
            {"rows": {"path": "a.csv", "row_id": True, "columns": {"x": "behaviour"}}},
            id="session",
        )
        assert named.id == "session"

    def test_format_from_suffix(self):
        spec = spec_of(
            {
                "a": {"path": "a.csv.gz", "row_id": True, "columns": {"x": "behaviour"}},
                "b": {"path": "b.xlsx", "columns": {"row_id": "id", "y": "behaviour"}},
                "c": {"query": "SELECT * FROM 'c.parquet'", "columns": {"z": "behaviour"}},
            }
        )
        assert [s.format for s in spec.sources] == ["csv", "excel", "sql"]

    def test_column_shorthand_and_options(self):
        spec = spec_of(
            {
                "users": users(
                    age="demographic",
                    pdays={"role": "behaviour", "na_values": [999], "label": "Days"},
                    churn={"role": "outcome", "type": "binary", "positive": "Yes"},
                )
            }
        )
        col = spec.base.column("pdays")
        assert col.na_values == (999,) and col.label == "Days"
        assert spec.base.column("churn").positive == "Yes"


class TestValidation:
    def test_unknown_role_lists_roles(self):
        with pytest.raises(SpecError) as err:
            spec_of({"users": users(age="demographics")})
        msg = str(err.value)
        assert "'users'" in msg and "'age'" in msg and "'demographics'" in msg
        assert "Did you mean 'demographic'" in msg
        assert all(role in msg for role in ROLES)

    def test_opinion_without_scale(self):
        with pytest.raises(SpecError, match=r"column 'trust'.*needs its rating scale"):
            spec_of({"survey": users(trust="opinion")})

    @pytest.mark.parametrize("scale", [[5, 1], [1], ["a", "b"], [1, 5, 7]])
    def test_bad_scale(self, scale):
        with pytest.raises(SpecError, match="scale must be"):
            spec_of({"survey": users(trust={"role": "opinion", "scale": scale})})

    def test_unknown_source_key_suggests(self):
        src = {**users(age="demographic"), "seperator": ";"}
        with pytest.raises(SpecError, match=r"unknown key 'seperator'.*Valid keys"):
            spec_of({"users": src})

    def test_unknown_column_key(self):
        with pytest.raises(SpecError, match=r"column 'age': unknown key 'scal'.*'scale'"):
            spec_of({"users": users(age={"role": "demographic", "scal": [1, 2]})})

    def test_unknown_kind_and_format(self):
        with pytest.raises(SpecError, match="unknown kind 'event'.*'events'"):
            spec_of({"e": {"path": "e.parquet", "kind": "event", "timestamp": "t"}})
        with pytest.raises(SpecError, match="unknown format 'xls'"):
            spec_of({"users": {**users(age="demographic"), "format": "xls"}})

    def test_events_need_timestamp_and_orders_amount(self):
        with pytest.raises(SpecError, match="needs 'timestamp'"):
            spec_of({"e": {"path": "e.parquet", "kind": "events"}})
        with pytest.raises(SpecError, match="needs 'amount'"):
            spec_of({"o": {"path": "o.csv", "kind": "orders", "timestamp": "t"}})

    def test_funnel_needs_event_type_and_two_steps(self):
        with pytest.raises(SpecError, match="needs 'event_type'"):
            spec_of({"e": {"path": "e.parquet", "kind": "events", "timestamp": "t", "funnel": []}})
        with pytest.raises(SpecError, match="at least two"):
            spec_of(
                {
                    "e": {
                        "path": "e.parquet",
                        "kind": "events",
                        "timestamp": "t",
                        "event_type": "e",
                        "funnel": ["visit"],
                    }
                }
            )

    def test_table_needs_columns_and_one_id(self):
        with pytest.raises(SpecError, match="needs 'columns:'"):
            spec_of({"users": {"path": "users.csv"}})
        with pytest.raises(SpecError, match="2 id columns"):
            spec_of({"users": users(other="id")})

    def test_same_column_in_two_sources(self):
        with pytest.raises(SpecError, match=r"'age' appears in sources 'a' and 'b'.*rename"):
            spec_of({"a": users(age="demographic"), "b": users(age="demographic")})

    def test_column_named_like_the_join_key(self):
        with pytest.raises(SpecError, match="join key"):
            spec_of({"a": {"path": "a.csv", "row_id": True, "columns": {"row_id": "behaviour"}}})

    def test_settings(self):
        with pytest.raises(SpecError, match="IANA"):
            spec_of({"users": users(age="demographic")}, timezone="Mars/Olympus")
        with pytest.raises(SpecError, match="session_gap_minutes"):
            spec_of({"users": users(age="demographic")}, session_gap_minutes=0)
        with pytest.raises(SpecError, match="'sources:'"):
            DataSpec.from_dict({"id": "x"}, ".")

    def test_two_event_sources(self):
        ev = {"path": "e.parquet", "kind": "events", "timestamp": "t"}
        with pytest.raises(SpecError, match="2 events sources"):
            spec_of({"a": ev, "b": {**ev, "path": "f.parquet"}})

    def test_row_id_not_for_events(self):
        with pytest.raises(SpecError, match="row_id"):
            spec_of({"e": {"path": "e.parquet", "kind": "events", "timestamp": "t", "id": None}})

    def test_yaml_errors_name_the_file(self, tmp_path):
        path = tmp_path / "broken.yaml"
        path.write_text("data: [unclosed\n")
        with pytest.raises(SpecError, match="broken.yaml.*not valid YAML"):
            load_spec(path)
        with pytest.raises(SpecError, match="does not exist"):
            load_spec(tmp_path / "missing.yaml")
        (tmp_path / "other.yaml").write_text("title: no data here\n")
        with pytest.raises(SpecError, match="neither a 'data:' section"):
            load_spec(tmp_path / "other.yaml")
