"""Determinism, common random numbers and daily invariants (MODEL §8, sim/streams.py).

(a) the same scenario and seed give identical outputs;
(b) switching a lever leaves the city, the residents, their network and the stream of emerging
    disputes untouched (named streams: differences between scenarios are due to the levers);
(c) a different seed gives a different run;
(d) the model's state is consistent after every simulated day.
"""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_model

from sim.disputes import State

POPULATION_ARRAYS = ("community", "grid", "trust", "grievance", "threshold", "party_member", "volunteer",
                     "mobilised", "last_case")
TERRITORY_ARRAYS = ("street_district", "community_street", "grid_community", "community_size")
SCENARIOS = ("baseline", "wuzhi", "empowerment_only", "whistle", "fengqiao")


def assert_summary_equal(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, float) and math.isnan(x):
            assert isinstance(y, float) and math.isnan(y), key
        else:
            assert x == y, (key, x, y)


def created_cases(model) -> pd.DataFrame:
    """What emerged, when and for whom: the columns set at creation."""
    cs, n = model.table, model.table.n
    df = pd.DataFrame({name: cs.column(name).copy() for name in
                       ("created", "type", "family", "severity0", "needs_dept", "n_depts", "n_parties", "auth",
                        "community")})
    for j in range(cs.parties.shape[1]):
        df[f"party{j}"] = cs.parties[:n, j]
    return df


# ---------------------------------------------------------------------------------------------
# (a) same seed, same run
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["baseline", "wuzhi"])
def test_same_seed_same_outputs(scenario):
    a = make_model(scenario, days=120, seed=7).run()
    b = make_model(scenario, days=120, seed=7).run()
    assert a.table.n > 0
    pd.testing.assert_frame_equal(a.timeseries(), b.timeseries())
    pd.testing.assert_frame_equal(a.cases(), b.cases())
    assert_summary_equal(a.summary(), b.summary())
    # and the residents end in the same state
    for name in ("trust", "grievance", "mobilised"):
        np.testing.assert_array_equal(getattr(a.population, name), getattr(b.population, name))


def fingerprint(model) -> str:
    """A digest of the run's daily table and case log."""
    text = model.timeseries().to_csv(float_format="%.17g") + model.cases().to_csv(float_format="%.17g")
    return hashlib.sha256(text.encode()).hexdigest()


_CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
from conftest import make_model
from test_determinism import fingerprint
print(fingerprint(make_model("wuzhi", days=90, seed=11).run()))
"""


def test_same_outputs_in_a_fresh_process():
    """Nothing may depend on the process (string-hash randomisation, set order, import order):
    two fresh interpreters with different PYTHONHASHSEEDs reproduce this process's run."""
    here = fingerprint(make_model("wuzhi", days=90, seed=11).run())
    tests, root = Path(__file__).resolve().parent, Path(__file__).resolve().parents[1]
    for hashseed in ("1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hashseed,
               "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
        out = subprocess.run([sys.executable, "-c", _CHILD, str(tests)], env=env, cwd=root,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == here


# ---------------------------------------------------------------------------------------------
# (b) common random numbers: levers do not shift unrelated draws
# ---------------------------------------------------------------------------------------------

LEVER_CHANGES = {
    "info_sharing": {"info_sharing": 1.0},
    # many levers at once (wuzhi's), moral education and volunteer rate left as in baseline:
    # those two act on emergence and on the residents' volunteer flags by design
    "many": {"info_sharing": 0.9, "automation": 0.5, "authority_devolution": 0.6, "resources_follow": 0.6,
             "whistle_power": 0.8, "burden_reduction": 0.3, "w_process": 0.1, "w_satisfaction": 0.6,
             "w_local": 0.2, "accountability": 0.15, "party_attention": 0.6, "party_integration": 0.8,
             "self_governance": 0.8, "social_org_funding": 0.5, "responsibility_clarity": 0.8},
}


@pytest.mark.parametrize("change", list(LEVER_CHANGES))
def test_levers_leave_city_residents_and_network_unchanged(change):
    a = make_model(seed=3, levers={"info_sharing": 0.0})
    b = make_model(seed=3, levers=LEVER_CHANGES[change])
    for name in TERRITORY_ARRAYS:
        np.testing.assert_array_equal(getattr(a.territory, name), getattr(b.territory, name), err_msg=name)
    A, B = a.population.network, b.population.network
    np.testing.assert_array_equal(A.indptr, B.indptr)
    np.testing.assert_array_equal(A.indices, B.indices)
    np.testing.assert_array_equal(A.data, B.data)
    for name in POPULATION_ARRAYS:
        np.testing.assert_array_equal(getattr(a.population, name), getattr(b.population, name), err_msg=name)


@pytest.mark.parametrize("change", list(LEVER_CHANGES))
def test_levers_leave_the_stream_of_disputes_unchanged(change):
    """Without grievance feedback and with moral education equal, every dispute that emerges
    (day, type, parties, initial severity...) is the same whatever the other levers, for a year,
    and so is every need that arises (the needs brought forward may differ: they follow trust,
    MODEL §12.5)."""
    quiet = {"grievance_hazard": 0.0}
    a = make_model(days=365, seed=3, levers={"info_sharing": 0.0}, emergence=quiet).run()
    b = make_model(days=365, seed=3, levers=LEVER_CHANGES[change], emergence=quiet).run()
    assert a.table.n > 100
    da, db = created_cases(a), created_cases(b)
    pd.testing.assert_frame_equal(da[da.family == 0].reset_index(drop=True), db[db.family == 0].reset_index(drop=True))
    assert [r["needs_arisen"] for r in a.rows] == [r["needs_arisen"] for r in b.rows]
    # the levers did change the run (otherwise this test would prove nothing)
    assert a.summary()["routing_accuracy"] != b.summary()["routing_accuracy"]


def test_candidates_unchanged_with_grievance_feedback():
    """With the default grievance hazard, residents' grievance (and so which candidates become
    disputes) depends on the levers, but the candidates themselves come from a fixed stream."""
    a = make_model(days=365, seed=3, levers={"info_sharing": 0.0}).run().timeseries()
    b = make_model(days=365, seed=3, levers={"info_sharing": 1.0}).run().timeseries()
    assert a["candidates"].sum() > 0
    np.testing.assert_array_equal(a["candidates"].to_numpy(), b["candidates"].to_numpy())


# ---------------------------------------------------------------------------------------------
# (c) another seed, another run
# ---------------------------------------------------------------------------------------------


def test_different_seed_different_run():
    a = make_model(days=120, seed=1).run()
    b = make_model(days=120, seed=2).run()
    assert not np.array_equal(a.territory.community_size, b.territory.community_size)
    assert not np.array_equal(a.population.trust, b.population.trust)
    assert not a.timeseries()["candidates"].equals(b.timeseries()["candidates"])
    with pytest.raises(AssertionError):
        pd.testing.assert_frame_equal(a.timeseries(), b.timeseries())
    with pytest.raises(AssertionError):
        pd.testing.assert_frame_equal(a.cases(), b.cases())


# ---------------------------------------------------------------------------------------------
# (d) daily invariants
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_invariants_hold_every_day(scenario):
    days = 120
    m = make_model(scenario, days=days, seed=5)
    for day in range(days):
        m.step()
        assert m.check_invariants() == [], (scenario, day)
        cs = m.table
        state = cs.state[: cs.n]
        # every case is in exactly one known state; created = open + closed
        assert ((state >= 0) & (state < len(State))).all(), day
        counts = np.bincount(state, minlength=len(State))
        n_open = int(counts[State.LATENT] + counts[State.ACTIVE])
        n_closed = int(counts[State.RESOLVED:].sum())
        assert cs.n == n_open + n_closed, day
        row = m.rows[-1]
        assert row["open"] == n_open and row["latent"] == counts[State.LATENT], day
    ts = pd.concat([m.timeseries(burn_in=True), m.timeseries()])  # the whole history: burn-in and reported days
    assert ts["day"].tolist() == list(range(-m.day0, days))
    counts = np.bincount(m.table.state[: m.table.n], minlength=len(State))
    assert ts["new_cases"].sum() == m.table.n
    # terminal outcomes never reopen, superficial closures may: the daily flows add up to the table
    assert ts["resolved"].sum() == counts[State.RESOLVED]
    assert ts["erupted"].sum() == counts[State.ERUPTED]
    assert ts["withdrawn"].sum() == counts[State.WITHDRAWN]
    assert ts["closed_superficially"].sum() - ts["reopened"].sum() == counts[State.SUPERFICIAL]
    assert ts["petitions"].sum() + ts["collective_incidents"].sum() == counts[State.ERUPTED]
    assert m.table.n > 50 and counts[State.RESOLVED] > 0
