"""docs/ODD.md's parameter tables are generated from the schema: they must not drift."""

from pathlib import Path

import pytest

from sim import docs

ODD = Path(__file__).resolve().parent.parent / "docs" / "ODD.md"


@pytest.mark.skipif(not ODD.exists(), reason="docs/ODD.md is not shipped with an installed package")
def test_odd_parameter_tables_are_up_to_date():
    assert docs.main(["--check", str(ODD)]) == 0, "docs/ODD.md is out of date: run `python -m sim.docs`"


def test_every_parameter_is_documented():
    table = docs.parameter_table()
    from sim.params import Scenario
    for section, field in Scenario.model_fields.items():
        sub = getattr(field.annotation, "model_fields", None)
        for name in (sub or {}):
            assert f"`{section}.{name}`" in table, f"{section}.{name} missing from the parameter table"
