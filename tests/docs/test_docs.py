"""Documentation generated from code must match the code."""

from pathlib import Path

from oncoimmune import registry
from oncoimmune.catalogue import render_catalogue

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_model_catalogue_is_up_to_date():
    committed = (DOCS / "models.md").read_text(encoding="utf-8")
    assert committed == render_catalogue(), "docs/models.md is stale: run `make docs`"


def test_catalogue_lists_every_model_with_units_and_sources():
    text = render_catalogue()
    for m in registry().values():
        assert f"## `{m.name}`" in text
        for p in m.parameters:
            assert f"| `{p.name}`" in text
