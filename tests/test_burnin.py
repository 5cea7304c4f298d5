"""The burn-in (MODEL §12.1) and its cache (sim.burnin): a city that has been running, the same
at day 0 in every scenario of a seed, reported days from 0, and a cache that is never wrong.

Fixed seeds, classroom preset. A cached run must equal an uncached one bit for bit.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim import CoGovernanceModel, burnin, load_scenario
from sim.params import Levers

from conftest import make_scenario

DAYS = 40
REFORM = {"info_sharing": 1.0, "whistle_power": 0.8, "authority_devolution": 0.9, "resources_follow": 1.0,
          "volunteer_rate": 0.3, "responsibility_clarity": 0.9, "w_satisfaction": 0.8, "w_process": 0.1}


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A cache of this test alone."""
    monkeypatch.setenv("COGOV_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("COGOV_CACHE", raising=False)
    return tmp_path / "cache"


def outputs(m) -> tuple:
    return m.summary(), m.timeseries(), m.cases()


def assert_same_outputs(a, b) -> None:
    sa, sb = a[0], b[0]
    assert json.dumps(sa, sort_keys=True) == json.dumps(sb, sort_keys=True)  # NaN == NaN here
    pd.testing.assert_frame_equal(a[1], b[1], check_exact=True)
    pd.testing.assert_frame_equal(a[2], b[2], check_exact=True)


def day0_state(m) -> dict:
    """What the city is at day 0: the case table, the residents, the units' learned choices, the
    burn-in's daily rows."""
    cs, n = m.table, m.table.n
    state = {name: getattr(cs, name)[:n].copy() for name in ("state", "severity", "holder", "level", "created",
                                                              "detected", "closed", "satisfaction", "parties")}
    pop = m.population
    state.update(trust=pop.trust.copy(), grievance=pop.grievance.copy(), strategy=m.strategy.copy(),
                 capacity=m.capacity.copy(), rows=pd.DataFrame(m.burn_in_rows))
    return state


def assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], pd.DataFrame):
            pd.testing.assert_frame_equal(a[k], b[k], check_exact=True)
        else:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)


# ---------------------------------------------------------------------------------------------
# the burn-in and day numbering
# ---------------------------------------------------------------------------------------------


def test_the_burn_in_runs_the_baseline_levers():
    """The schema's lever defaults (which run the burn-in) are the baseline scenario's levers."""
    assert load_scenario("baseline").levers == Levers()
    assert load_scenario("baseline").burn_in == 730 and not load_scenario("baseline").schedule


def test_the_city_at_day_0_is_the_same_in_every_scenario_of_a_seed():
    """Common random numbers, burn-in included: a reform scenario and the baseline share the city
    at day 0; a different non-lever parameter (positive control) gives another city."""
    base = make_scenario(seed=3, days=5)
    reform = make_scenario(seed=3, days=90, levers=REFORM, name="reform",
                           schedule=[{"day": 2, "levers": {"automation": 1.0}}])
    a = CoGovernanceModel(base, cache=False)
    b = CoGovernanceModel(reform, cache=False)
    assert burnin.city_scenario(base) == burnin.city_scenario(reform)
    assert a.levers != b.levers  # the scenario's levers act from day 0
    assert_same_state(day0_state(a), day0_state(b))
    other = CoGovernanceModel(make_scenario(seed=3, days=5, emergence={"disputes_per_1000_year": 30.0}), cache=False)
    assert other.table.n != a.table.n
    # and the first reported day draws the same candidates (the emergence stream is common)
    a.step(), b.step()
    assert a.rows[0]["candidates"] == b.rows[0]["candidates"]


def test_reported_days_start_at_0_and_the_internal_day_goes_on():
    m = CoGovernanceModel(make_scenario(seed=2, days=DAYS), cache=False)
    assert (m.day, m.day0, m.reported_day) == (730, 730, 0)
    m.run()
    ts, burn, cases, s = m.timeseries(), m.timeseries(burn_in=True), m.cases(), m.summary()
    assert ts["day"].tolist() == list(range(DAYS))
    assert burn["day"].tolist() == list(range(-730, 0))
    assert (s["days"], s["burn_in"], m.day) == (DAYS, 730, 730 + DAYS)
    carried = cases[cases["created"] < 0]
    assert len(carried) == s["cases_open_start"] > 0
    assert (cases["closed"].dropna() >= 0).all()  # a case closed in the burn-in is not in the log
    assert (cases["created"] >= -730).all() and (cases["created"] < DAYS).all()
    assert s["cases_total"] == ts["new_cases"].sum()
    assert s["detected"] == ts["detected"].sum() == (cases["detected"].dropna() >= 0).sum()
    assert s["resolved"] == (cases["outcome"] == "resolved").sum()
    assert m.check_invariants() == []


def test_totals_cover_the_reported_period_only():
    """Budget, person-days, utilisation and turnover start at day 0 (not in the burn-in)."""
    m = CoGovernanceModel(make_scenario(seed=2, days=30), cache=False).run()
    s = m.summary()
    # 30 days of staff and programmes (staff change with vacancies; the burn-in would make it 395 days)
    assert s["budget"] == pytest.approx(30 * m.daily_cost(), rel=0.15)
    assert len(m.totals.utilisation) == 1  # evaluation periods end with the burn-in: one in 30 days
    assert s["person_days"] == pytest.approx(sum(r["person_days"] for r in m.rows) * m.p.structure.population_scale)


def test_schedule_days_are_reported_days():
    sc = make_scenario(seed=2, days=10, schedule=[{"day": 5, "levers": {"whistle_power": 0.8}}])
    m = CoGovernanceModel(sc, cache=False)
    m.run(5)
    assert m.levers.whistle_power == 0.0  # reported days 0-4 ran under the scenario's levers
    m.run(1)
    assert m.levers.whistle_power == 0.8  # reported day 5 (internal day 370)


def test_burn_in_0_starts_from_an_empty_city_and_writes_no_cache(cache_dir):
    m = CoGovernanceModel(make_scenario(seed=2, days=5, burn_in=0))
    assert (m.day, m.day0, m.table.n, m.burn_in_source) == (0, 0, 0, "built, not cached")
    assert not cache_dir.exists() or not list(cache_dir.iterdir())


# ---------------------------------------------------------------------------------------------
# the cache
# ---------------------------------------------------------------------------------------------


def test_a_cached_run_equals_an_uncached_one(cache_dir):
    sc = make_scenario(seed=4, days=DAYS, levers={"whistle_power": 0.5})
    plain = CoGovernanceModel(sc, cache=False)
    assert plain.burn_in_source == "built, not cached" and not cache_dir.exists()
    built = CoGovernanceModel(sc)
    loaded = CoGovernanceModel(sc)
    assert (built.burn_in_source, loaded.burn_in_source) == ("built", "cache")
    assert len(list(cache_dir.glob("*.burnin"))) == 1
    # numpy views are views again after loading (the learned choices are columns of strategy)
    assert np.shares_memory(loaded.effort, loaded.strategy) and np.shares_memory(loaded.conceal, loaded.strategy)
    assert all(c.model is loaded for c in loaded.communities)
    ref = outputs(plain.run())
    assert_same_outputs(outputs(built.run()), ref)
    assert_same_outputs(outputs(loaded.run()), ref)
    # another scenario of the same city reads the same entry
    other = CoGovernanceModel(make_scenario(seed=4, days=3, levers=REFORM))
    assert other.burn_in_source == "cache" and len(list(cache_dir.glob("*.burnin"))) == 1


def test_cache_off_by_environment(cache_dir, monkeypatch):
    monkeypatch.setenv("COGOV_CACHE", "off")
    m = CoGovernanceModel(make_scenario(seed=5, days=3))
    assert m.burn_in_source == "built, not cached" and not cache_dir.exists()


def _entry(cache_dir):
    (path,) = cache_dir.glob("*.burnin")
    return path


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage", "empty", "header"])
def test_a_corrupt_entry_is_rebuilt_and_replaced_never_used(cache_dir, damage):
    sc = make_scenario(seed=6, days=20)
    ref = outputs(CoGovernanceModel(sc).run())
    path = _entry(cache_dir)
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[-1000] ^= 0xFF  # one byte of the pickled state
    elif damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "garbage":
        data = bytearray(b"not an entry" * 100)
    elif damage == "empty":
        data = bytearray()
    else:  # a checksum that matches the damaged payload but a header of another key
        data = bytearray(data.replace(path.stem.encode(), b"0" * len(path.stem), 1))
    path.write_bytes(bytes(data))
    again = CoGovernanceModel(sc)
    assert again.burn_in_source == "built" and path.name in again.cache_problem
    assert_same_outputs(outputs(again.run()), ref)
    assert CoGovernanceModel(sc).burn_in_source == "cache"  # the entry was replaced by a sound one


def test_a_stale_entry_is_not_used(cache_dir, monkeypatch):
    """Another code fingerprint or other parameters give another key; an entry is only read under its key."""
    sc = make_scenario(seed=7, days=5)
    CoGovernanceModel(sc)
    first = _entry(cache_dir)
    city = burnin.city_scenario(sc)
    assert first.stem == burnin.key(city)
    assert burnin.key(city, fingerprint="other code") != first.stem
    for changed in (make_scenario(seed=8, days=5), make_scenario(seed=7, days=5, burn_in=30),
                    make_scenario(seed=7, days=5, preset="city"), make_scenario(seed=7, days=5, lifecycle={"p_fade": 0.02})):
        assert burnin.key(burnin.city_scenario(changed)) != first.stem
    for same in (make_scenario(seed=7, days=99, levers=REFORM), make_scenario(seed=7, days=5, name="x", description="y"),
                 make_scenario(seed=7, days=5, schedule=[{"day": 1, "levers": {"automation": 1.0}}])):
        assert burnin.key(burnin.city_scenario(same)) == first.stem
    # the code changes: the old entry is not read, a new one is built beside it
    monkeypatch.setattr(burnin, "_FINGERPRINT", "changed code")
    m = CoGovernanceModel(sc)
    assert m.burn_in_source == "built" and len(list(cache_dir.glob("*.burnin"))) == 2
    # an entry renamed to another key is refused (its header names its own key)
    fresh = burnin.entry_path(burnin.key(city))
    fresh.unlink()
    first.rename(fresh)
    assert CoGovernanceModel(sc).burn_in_source == "built"


BUILD = """
import json, sys
from sim import CoGovernanceModel, load_scenario
m = CoGovernanceModel(load_scenario(json.loads(sys.argv[1])))
print(m.burn_in_source)
print(json.dumps(m.run().summary(), sort_keys=True))
"""


def test_two_processes_building_the_same_entry_do_not_corrupt_it(cache_dir):
    """Started together: one builds and writes the entry while the other waits for it (lock), or
    both build; either way the entry is whole and both runs are the same."""
    sc = make_scenario(seed=9, days=10)
    env = {**os.environ, "COGOV_CACHE_DIR": str(cache_dir)}
    procs = [subprocess.Popen([sys.executable, "-c", BUILD, sc.model_dump_json()], env=env, stdout=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600)[0].splitlines() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert sorted(o[0] for o in outs) == ["built", "cache"]  # the second waited for the first's entry
    assert outs[0][1] == outs[1][1]
    path = _entry(cache_dir)
    assert not [p for p in cache_dir.iterdir() if p.suffix == ".tmp" or p.name.startswith(".")]
    assert burnin.verify(path)  # whole, and its checksum verifies
    m = CoGovernanceModel(sc)
    assert m.burn_in_source == "cache"
    assert json.dumps(m.run().summary(), sort_keys=True) == outs[0][1]


def test_an_unwritable_cache_does_not_stop_a_run(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("COGOV_CACHE_DIR", str(blocker / "cache"))
    m = CoGovernanceModel(make_scenario(seed=2, days=3))
    assert m.burn_in_source == "built, not cached" and "cache not used" in m.cache_problem
    assert m.run().summary()["days"] == 3


def test_the_snapshot_keeps_views_and_the_model_reference():
    m = CoGovernanceModel(make_scenario(seed=2, days=3, burn_in=10), cache=False)
    bare = CoGovernanceModel.__new__(CoGovernanceModel)
    burnin.restore(bare, burnin.snapshot(m))
    bare.strategy[0, 0] = 0.123
    assert bare.effort[0] == np.float32(0.123)
    assert bare.mechanisms.capacity.model is bare and bare.table.n == m.table.n
    with pytest.raises(pickle.UnpicklingError):
        burnin.restore(CoGovernanceModel.__new__(CoGovernanceModel), b"\x80\x05P" + b"\x00" * 10)


def test_cache_listing_and_clearing(cache_dir, capsys):
    from sim.cli import main

    CoGovernanceModel(make_scenario(seed=2, days=3))
    assert main(["cache"]) == 0
    out = capsys.readouterr().out
    assert str(cache_dir) in out and "classroom" in out and "1 entr" in out
    assert main(["cache", "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["preset"] == "classroom" and entry["seed"] == 2 and entry["current_code"]
    assert main(["cache", "--clear"]) == 0
    assert "removed 1" in capsys.readouterr().out
    assert not list(cache_dir.glob("*.burnin"))
