"""The objectives page is honest: every id a test names has a control row, and every control row has a test."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _report():
    spec = importlib.util.spec_from_file_location("objectives_report", ROOT / "tools" / "objectives_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_id_a_test_names_has_a_control_row_and_every_control_row_has_a_test():
    report = _report()
    problems = report.unmatched(report.tests_by_objective(), report.controls())
    assert problems == {"tests but no control row": [], "control row but no test": []}


def test_ids_named_in_docstrings_count_like_markers(tmp_path):
    report = _report()
    tests_dir = tmp_path / "tests"
    tests_dir.mkdir()
    (tests_dir / "test_example.py").write_text(
        textwrap.dedent(
            '''
            """Radios by name (SO-U19)."""
            import pytest

            @pytest.mark.objective("SO-U1")
            def test_marked():
                pass

            def test_named_in_its_docstring():
                """Alice never sees Bob's usage (SO-C5)."""

            def helper_not_a_test():
                """Mentions SO-T1 but proves nothing."""
            '''
        )
    )
    found = report.tests_by_objective(tests_dir)
    assert found["SO-C5"] == ["`tests/test_example.py::test_named_in_its_docstring`"]
    assert found["SO-U1"] == ["`tests/test_example.py::test_marked`"]
    assert sorted(found["SO-U19"]) == ["`tests/test_example.py::test_marked`", "`tests/test_example.py::test_named_in_its_docstring`"]
    assert "SO-T1" not in found

    controls = tmp_path / "controls.md"
    controls.write_text("| Objective | Control |\n|---|---|\n| SO-U1 | sealed columns |\n| SO-C9 | fraud checks |\n")
    assert report.unmatched(found, report.controls(controls)) == {
        "tests but no control row": ["SO-C5", "SO-U19"],
        "control row but no test": ["SO-C9"],
    }


def test_a_thermostat_load_control_event_is_not_claimed_as_usage_limiting():
    """Limiting usage for constrained supply or inability to pay is not what a demand-response event does."""
    usage_limiting = "SO-" + "U7"  # spelled apart, so this test does not name the id it guards
    report = _report()
    tests = report.tests_by_objective()
    assert not [name for name in tests.get(usage_limiting, []) if "load_control" in name]
    assert any("load_control" in name for name in tests["BF-DR-1"])
