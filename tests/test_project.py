"""Project hygiene: dependencies agree everywhere, notebooks are stripped and parameterised."""

from __future__ import annotations

import json
import re
import tomllib

import yaml
from packaging.requirements import Requirement

from toolkit.config import NOTEBOOKS, NOTEBOOKS_DIR, PROJECT_ROOT


def _pyproject():
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _declared() -> dict[str, Requirement]:
    project = _pyproject()["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["dev"]
    return {Requirement(r).name.lower(): Requirement(r) for r in reqs}


def _lock() -> dict[str, str]:
    pins = {}
    for line in (PROJECT_ROOT / "requirements" / "lock.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def test_environment_yml_matches_pyproject():
    env = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text(encoding="utf-8"))
    assert "python=3.11" in env["dependencies"]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-c requirements/lock.txt" in pip and "-e ." in pip
    listed = {Requirement(r).name.lower(): Requirement(r) for r in pip if not r.startswith("-")}
    declared = _declared()
    assert set(listed) == set(declared), {
        "only in environment.yml": set(listed) - set(declared),
        "only in pyproject.toml": set(declared) - set(listed),
    }
    for name, req in declared.items():
        assert listed[name].specifier == req.specifier, f"{name}: {listed[name]} vs {req}"


def test_lock_pins_every_dependency_within_its_range():
    pins = _lock()
    core = [
        "jupyterlab",
        "pandas",
        "seaborn",
        "scikit-learn",
        "umap-learn",
        "ipywidgets",
        "papermill",
        "nbval",
    ]
    declared = _declared()
    assert set(core) <= set(declared)
    for name, req in declared.items():
        key = name.replace("_", "-")
        assert key in pins, f"{name} is not pinned in requirements/lock.txt (run make lock)"
        assert req.specifier.contains(pins[key], prereleases=True), (
            f"{name}=={pins[key]} violates {req}"
        )


def test_notebooks_are_stripped_and_parameterised():
    for name in NOTEBOOKS:
        nb = json.loads((NOTEBOOKS_DIR / name).read_text(encoding="utf-8"))
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), name
        params = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(params) == 1, f"{name} needs exactly one cell tagged 'parameters'"
        lines = [ln for ln in "".join(params[0]["source"]).splitlines() if ln.strip()]
        for line in lines:  # typed, literal, documented: `name: type = literal  # help`
            assert re.match(r"^\w+: \w+ = .+  # .+$", line), f"{name}: parameter line {line!r}"
        assert "papermill" not in nb["metadata"], f"{name} carries papermill run metadata"


def test_papermill_reads_every_parameter_with_its_type_and_help():
    """papermill's parser skips a line whose comment holds '=': the parameter would vanish."""
    import papermill

    for name in NOTEBOOKS:
        nb = json.loads((NOTEBOOKS_DIR / name).read_text(encoding="utf-8"))
        cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
        written = [ln.split(":")[0] for ln in "".join(cell["source"]).splitlines() if ln.strip()]
        declared = papermill.inspect_notebook(str(NOTEBOOKS_DIR / name))
        assert list(declared) == written, name
        for key, info in declared.items():
            assert info["inferred_type_name"] != "None" and info["help"], f"{name}: {key}"


def test_readme_shows_the_two_commands_first_and_ci_runs_the_test_command():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```")[1]
    assert "make report" in first_block and "make test" in first_block
    assert "make test" in (PROJECT_ROOT / ".ci" / "run").read_text()
