"""The baseline is stationary (MODEL §12.1): over five reported years, each year's resolution rate,
eruptions and open cases at year end stay within +/-10% of their five-year mean (city preset, the
scenario's burn-in, seed 1). The figures for more seeds: ``python benchmarks/stationarity.py``.

Measured on the committed calibration (2026-12-03, two-year burn-in, ODD D35): the largest
deviations over seeds 1-3 are resolution 6.2%, eruptions 9.7% (seed 1, year 2), open cases 8.0%;
resolution still falls slowly (seed 1: 0.642 to 0.601 over five years, ODD §10), so this test
fails if that drift grows.
"""

from __future__ import annotations

import pytest
from conftest import make_model

from sim.experiments.analysis import STATIONARY_TOLERANCE, stationarity_deviation, yearly_table

YEARS = 5


@pytest.mark.slow
def test_the_baseline_is_stationary_over_five_reported_years():
    m = make_model(preset="city", days=YEARS * 365).run()
    table = yearly_table(m.timeseries(), YEARS)
    worst = stationarity_deviation(table)[["resolution", "eruptions", "open_end"]]
    print(table.to_string(), "\n", worst.to_string())
    assert (worst <= STATIONARY_TOLERANCE).all(), worst.to_dict()
