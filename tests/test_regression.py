"""Results at a given seed are unchanged by optimisations.

The stored summaries in tests/data/regression.json come from `python benchmarks/update_regression.py`;
rerun it only for a change that is meant to change results, and say so in the commit.
"""

import json
import math
from pathlib import Path

import pytest

from sim import CoGovernanceModel

STORED = json.loads((Path(__file__).parent / "data" / "regression.json").read_text())


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


@pytest.mark.parametrize("preset", [pytest.param("classroom"), pytest.param("city", marks=pytest.mark.slow)])
def test_summary_matches_stored_baseline(preset):
    stored = STORED[preset]
    now = CoGovernanceModel("baseline", seed=1, preset=preset).run(stored["days"]).summary()
    assert set(now) == set(stored), "summary keys changed: update tests/data/regression.json deliberately"
    changed = {k: (stored[k], now[k]) for k in stored if not same(stored[k], now[k])}
    assert not changed, f"results changed (stored, now): {changed}"
