"""docs/population.md tabulates the shipped data: its generated block must match the data files."""

from pathlib import Path

from oncoimmune.population import tumour_types
from oncoimmune.population._docs import generated_block, render_tables

DOC = Path(__file__).resolve().parents[2] / "docs" / "population.md"


def test_population_tables_are_up_to_date():
    block = generated_block(DOC.read_text(encoding="utf-8"))
    assert block.strip() == render_tables().strip(), (
        "docs/population.md is stale: run `.venv/bin/python -m oncoimmune.population._docs docs/population.md`"
    )


def test_every_tumour_type_has_a_section():
    text = render_tables()
    for name in tumour_types():
        assert f"### `{name}`" in text
