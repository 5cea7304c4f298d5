"""Whatever validates also runs (issue 13): random values anywhere in every numeric field's allowed
range, at its bounds too, build and run the classroom city without an error, and its summary is
finite where it is defined."""

from __future__ import annotations

import math
import os

import annotated_types as at
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import CoGovernanceModel, load_scenario
from sim.params import Scenario

#: Counts of the territory are the preset's (the memory guard, not the model, answers for huge ones).
SKIP = {"structure.districts", "structure.streets", "structure.communities", "structure.grids",
        "structure.population", "structure.population_scale"}


def _bounds(field):
    lo = hi = None
    lo_open = hi_open = False
    for m in field.metadata:
        if isinstance(m, at.Ge):
            lo = m.ge
        elif isinstance(m, at.Gt):
            lo, lo_open = m.gt, True
        elif isinstance(m, at.Le):
            hi = m.le
        elif isinstance(m, at.Lt):
            hi, hi_open = m.lt, True
    return lo, hi, lo_open, hi_open


def numeric_fields() -> dict[str, st.SearchStrategy]:
    """``section.field`` -> a strategy over its allowed values, bounds included."""
    out = {}
    for section, sf in Scenario.model_fields.items():
        for name, f in getattr(sf.annotation, "model_fields", {}).items():
            key = f"{section}.{name}"
            if key in SKIP or f.annotation not in (int, float):
                continue
            lo, hi, lo_open, hi_open = _bounds(f)
            assert lo is not None and hi is not None, f"{key} has no bounds"
            if f.annotation is int:
                lo_i = int(lo) + (1 if lo_open else 0)
                hi_i = int(hi) - (1 if hi_open else 0)
                out[key] = st.sampled_from([lo_i, hi_i]) | st.integers(lo_i, hi_i)
            else:
                ends = [v for v, open_ in ((lo, lo_open), (hi, hi_open)) if not open_]
                inner = st.floats(lo, hi, exclude_min=lo_open, exclude_max=hi_open, allow_nan=False)
                out[key] = (st.sampled_from(ends) | inner) if ends else inner
    return out


FIELDS = numeric_fields()


@st.composite
def scenario_values(draw):
    keys = draw(st.lists(st.sampled_from(sorted(FIELDS)), min_size=1, max_size=12, unique=True))
    return {k: draw(FIELDS[k]) for k in keys}


def test_every_numeric_field_is_bounded_on_both_sides():
    for section, sf in Scenario.model_fields.items():
        for name, f in getattr(sf.annotation, "model_fields", {}).items():
            if f.annotation in (int, float, int | None, float | None):
                lo, hi, _, _ = _bounds(f)
                assert lo is not None and hi is not None, f"{section}.{name} is not bounded"


@pytest.mark.filterwarnings("error::RuntimeWarning")  # an overflow or a 0/0 on the way is a defect too
@settings(max_examples=int(os.environ.get("COGOV_FUZZ_EXAMPLES", "40")), deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(values=scenario_values())
def test_whatever_validates_runs(values):
    tables: dict[str, dict] = {}
    for key, v in values.items():
        section, field = key.split(".")
        tables.setdefault(section, {})[field] = v
    sc = load_scenario({"preset": "classroom", "burn_in": 0, "days": 40, **tables})
    model = CoGovernanceModel(sc).run()
    for kpi, value in model.summary().items():
        if isinstance(value, float):
            assert not math.isinf(value), f"{kpi} is infinite with {values}"
