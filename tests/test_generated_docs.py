"""The generated pages must match the code they are generated from (run `make docs` to fix)."""

from pathlib import Path

import pytest

from flink_app.docs import ROOT, generated


@pytest.mark.parametrize("path,text", list(generated().items()), ids=lambda v: getattr(v, "name", ""))
def test_generated_page_is_current(path, text):
    assert path.read_text() == text, f"{path.relative_to(ROOT)} is stale: run `make docs`"


def test_reference_page_shows_every_band():
    from core.clinical import rules

    page = (ROOT / "docs" / "CLINICAL_RULES.md").read_text()
    for p in list(rules.NEWS2_PARAMETERS.values()) + list(rules.MEWS_PARAMETERS.values()):
        assert p.label in page
    for flag in rules.VITAL_FLAGS:
        assert f"`{flag.name}`" in page


def test_runbooks_name_tests_that_exist():
    """Every runbook command marked tested names a test file that exists and mentions what it runs."""
    import re

    root = Path(__file__).resolve().parents[1]
    books = sorted((root / "docs" / "runbooks").glob("*.md"))
    assert len(books) >= 8
    named = {m for b in books for m in re.findall(r"tests/(test_\w+\.py)", b.read_text())}
    named |= {f"{m}.py" for b in books for m in re.findall(r"tested: (test_\w+)\)", b.read_text())}
    assert named
    for test in named:
        assert (root / "tests" / test).exists(), test
    assert "producer.requeue" in (root / "tests" / "test_requeue.py").read_text()
