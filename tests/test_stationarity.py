"""The baseline is stationary (MODEL §12.1): over five reported years, each year's resolution rate,
eruptions and open cases at year end stay within +/-10% of their five-year mean (city preset, the
scenario's burn-in, seed 1). The figures for more seeds: ``python benchmarks/stationarity.py``.

Measured on the adopted ensemble's best set (2026-12-04, two-year burn-in, ODD D35): the largest
deviations over seeds 1-3 are resolution 6.5%, eruptions 11.0% (seed 1, year 5), open cases 8.5%:
the criterion fails. Over eight reported years (seed 1) resolution falls from 0.618 to 0.536 and
eruptions rise by 28%; the yearly means of the time series show why: the units' learned share of
superficial closures climbs from 0.11 to 0.27 and concealment from 0.11 to 0.17 while departments'
effort falls (evaluation by traces and counts rewards them, MODEL §12.4), and two years of burn-in
do not let that learning settle. The earlier fitted point passed narrowly (9.7%). Until the burn-in
is long enough for the learning to settle (and the calibration is redone on it), this test is
expected to fail; ``strict`` makes it fail loudly the day the baseline becomes stationary, so the
mark is removed then (docs/CALIBRATION.md "Stationarity").
"""

from __future__ import annotations

import pytest
from conftest import make_model

from sim.experiments.analysis import STATIONARY_TOLERANCE, stationarity_deviation, yearly_table

YEARS = 5


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="the units' evaluation learning still drifts after the two-year burn-in "
                                       "(module docstring; docs/CALIBRATION.md 'Stationarity')")
def test_the_baseline_is_stationary_over_five_reported_years():
    m = make_model(preset="city", days=YEARS * 365).run()
    table = yearly_table(m.timeseries(), YEARS)
    worst = stationarity_deviation(table)[["resolution", "eruptions", "open_end"]]
    print(table.to_string(), "\n", worst.to_string())
    assert (worst <= STATIONARY_TOLERANCE).all(), worst.to_dict()
