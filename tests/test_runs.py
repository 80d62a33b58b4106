"""Run folders: atomic writes, fingerprints, completion records and the latest pointer."""

from __future__ import annotations

import json
import os

import pytest

from toolkit import runs


class TestAtomicWrites:
    def test_write_replaces_whole_file(self, tmp_path):
        target = tmp_path / "report.html"
        runs.atomic_write_text(target, "first")
        runs.atomic_write_text(target, "second")
        assert target.read_text() == "second"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]

    def test_crash_keeps_previous_file_and_leaves_no_temp(self, tmp_path):
        target = tmp_path / "index.html"
        runs.atomic_write_text(target, "good report")
        with pytest.raises(RuntimeError), runs.atomic_path(target) as tmp:
            tmp.write_text("half a rep")
            raise RuntimeError("crash while writing")
        assert target.read_text() == "good report"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html"]

    def test_json_is_stable(self, tmp_path):
        a = runs.write_json(tmp_path / "a.json", {"b": 1, "a": [1, 2]}).read_bytes()
        b = runs.write_json(tmp_path / "b.json", {"a": [1, 2], "b": 1}).read_bytes()
        assert a == b
        assert json.loads(a) == {"a": [1, 2], "b": 1}


class TestFingerprint:
    def test_same_bytes_same_fingerprint(self, tmp_path):
        f = tmp_path / "users.csv"
        f.write_text("user_id\n001\n")
        first = runs.data_fingerprint([f])
        assert first == runs.data_fingerprint([f])
        assert len(first) == 8

    def test_changed_data_changes_fingerprint(self, tmp_path):
        f = tmp_path / "users.csv"
        f.write_text("user_id\n001\n")
        before = runs.data_fingerprint([f])
        f.write_text("user_id\n002\n")
        assert runs.data_fingerprint([f]) != before
        assert runs.data_fingerprint([f], extra="spec v2") != runs.data_fingerprint([f])


class TestRunFolders:
    def test_new_run_dirs_never_collide(self, tmp_path):
        a = runs.new_run_dir(tmp_path, "abcd1234")
        b = runs.new_run_dir(tmp_path, "abcd1234")
        assert a != b and a.is_dir() and b.is_dir()
        assert a.name.endswith("-abcd1234")

    def test_completion_record_roundtrip(self, tmp_path):
        assert runs.completion_record(tmp_path, "01-explore") is None
        runs.mark_notebook_complete(tmp_path, "01-explore", users=10)
        record = runs.completion_record(tmp_path, "01-explore")
        assert record["notebook"] == "01-explore" and record["users"] == 10

    def test_latest_pointer_moves_only_when_set(self, tmp_path):
        assert runs.latest_run(tmp_path) is None
        good = runs.new_run_dir(tmp_path, "aaaa0000")
        runs.set_latest_run(tmp_path, good)
        runs.new_run_dir(tmp_path, "bbbb1111")  # a later run that never succeeds
        assert runs.latest_run(tmp_path) == good
        assert os.readlink(tmp_path / "latest") == good.name
        assert runs.previous_good_run(tmp_path, exclude=good) is None


class TestStartup:
    def test_papermill_runs_without_the_slow_optional_import(self):
        import subprocess
        import sys
        import textwrap

        from toolkit.config import PROJECT_ROOT

        code = textwrap.dedent(
            """
            import sys
            from toolkit._startup import skip_slow_optional_imports
            skip_slow_optional_imports()
            import nbformat, papermill
            nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
            nbformat.validate(nb)  # jsonschema still validates notebooks
            print(sys.modules.get("rfc3987_syntax", "absent"))
            """
        )
        out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT,
                             capture_output=True, text=True, check=True, timeout=120)  # fmt: skip
        assert out.stdout.split() == ["None"]

    def test_report_runs_notebooks_through_the_papermill_cli(self):
        import subprocess
        import sys

        from toolkit.config import PROJECT_ROOT

        out = subprocess.run([sys.executable, "-m", "toolkit._papermill", "--help"],
                             cwd=PROJECT_ROOT, capture_output=True, text=True, check=True,
                             timeout=120)  # fmt: skip
        assert "--parameters_file" in out.stdout and "--kernel" in out.stdout
