"""The generated pages must match the code they are generated from (run `make docs` to fix)."""

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
