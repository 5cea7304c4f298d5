"""The baseline is stationary (MODEL §12.1): over five reported years, each year's resolution rate,
eruptions and open cases at year end stay within +/-10% of their five-year mean (city preset, the
scenario's burn-in, seed 1). The figures for more seeds: ``python benchmarks/stationarity.py``.

Known to fail on today's model (issue 12, open): learned effort falls from 0.7 to ~0.27 over five
to seven years and superficial closure keeps rising under the baseline's closure-count weight, so
resolution falls and eruptions rise year on year after a one-year burn-in (ODD D32). Marked
``xfail(strict=True)``: the mark must go when the model holds, and the test fails loudly if it
starts passing unnoticed.
"""

from __future__ import annotations

import pytest
from conftest import make_model

from sim.experiments.analysis import STATIONARY_TOLERANCE, stationarity_deviation, yearly_table

YEARS = 5


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="issue 12, open: the baseline drifts (learned effort and superficial "
                   "closure settle over more than the one-year burn-in; ODD D32)")
def test_the_baseline_is_stationary_over_five_reported_years():
    m = make_model(preset="city", days=YEARS * 365).run()
    table = yearly_table(m.timeseries(), YEARS)
    worst = stationarity_deviation(table)[["resolution", "eruptions", "open_end"]]
    print(table.to_string(), "\n", worst.to_string())
    assert (worst <= STATIONARY_TOLERANCE).all(), worst.to_dict()
