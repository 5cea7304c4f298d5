"""The 12345 hotline (接诉即办): dispatch, acknowledgement, callbacks and the 三率 (MODEL §12.6).
Positive controls with fixed seeds; each can fail."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_model

from sim.disputes import Channel, Handler, Level, State
from sim.registry import KPIS


def _run(days=90, seed=1, burn_in=0, **sections):
    """The hotline's rules in isolation: from the empty city (no burn-in), so every demand counted was filed
    in the run."""
    return make_model(days=days, seed=seed, burn_in=burn_in, **sections).run()


def _flow(m, name):
    return int(sum(r[name] for r in m.rows))


@pytest.fixture(scope="module")
def run():
    return _run(days=120, levers={"hotline_reach": 0.8})


def test_the_dispatcher_sends_each_demand_to_a_department_or_the_street_the_day_it_is_called_in():
    m = make_model(days=60, levers={"hotline_reach": 1.0}, burn_in=0)
    seen = 0
    for _ in range(60):
        m.step()
        cs, day = m.table, m.day - 1
        today = np.flatnonzero((cs.column("channel") == Channel.HOTLINE) & (cs.column("detected") == day))
        seen += len(today)
        dept = today[cs.needs_dept[today]]
        street = today[~cs.needs_dept[today]]
        assert (cs.hl_unit[today] >= 0).all()
        # department demands: held by a department of the district (right or wrong one) from the call...
        open_dept = dept[cs.state[dept] == State.ACTIVE]
        first = open_dept[cs.bounces[open_dept] + cs.escalations[open_dept] == 0]
        assert (cs.handler[first] == Handler.DEPARTMENT).all()
        assert (m.units.kind[cs.hl_unit[dept]] == Handler.DEPARTMENT).all()
        # ...the others answer to the caller's street, which places them by its own rules
        assert (cs.hl_unit[street] == m.units.street_unit(cs.street[street])).all()
        assert not (cs.visited[today] & (1 << Level.GRASSROOTS)).any()
    assert seen > 15
    assert _flow(m, "hotline_filed") == seen


def test_callbacks_count_each_demand_once_and_in_the_units_record():
    """Every hotline demand is called back once: when it closes or at callback_days; the flows, the
    case columns and the evaluation record agree (the record is reset every period)."""
    m = make_model(days=200, levers={"hotline_reach": 0.8}, evaluation={"period": 1000}, burn_in=0)
    m.run()
    cs = m.table
    hot = cs.column("channel") == Channel.HOTLINE
    called = cs.column("hl_callback") >= 0
    assert called.sum() == _flow(m, "hotline_callbacks") > 30
    assert not (called & ~hot).any()
    rec = m.mechanisms.evaluation.record
    for field, flow in (("hotline_n", "hotline_callbacks"), ("hotline_responded", "hotline_responded"),
                        ("hotline_solved", "hotline_solved"), ("hotline_satisfied", "hotline_satisfied")):
        assert getattr(rec, field).sum() == _flow(m, flow), field
    # open demands are called back at callback_days, never earlier
    cb, det, closed = cs.column("hl_callback")[called], cs.column("detected")[called], cs.column("closed")[called]
    assert ((cb - det <= m.p.hotline.callback_days)).all()
    reopened = cs.column("reopened")[called] > 0  # called back at its first closure, closed again later
    late = ((closed < 0) | (closed > cb)) & ~reopened
    assert (cb[late] - det[late] == m.p.hotline.callback_days).all()
    # every demand filed at least callback_days before the end has been called back
    assert (called | ~hot | (cs.column("detected") > m.day - 1 - m.p.hotline.callback_days)).all()


def test_superficial_closures_are_seen_through_with_the_stated_probability():
    """p_superficial_seen = 1: no superficial closure counts as solved (solved == resolved at the
    callback); = 0: every one does. Same seed, superficial closure made common."""
    kw = dict(days=200, levers={"hotline_reach": 1.0}, evaluation={"initial_superficial": 0.8})
    seen = _run(**kw, hotline={"p_superficial_seen": 1.0})
    blind = _run(**kw, hotline={"p_superficial_seen": 0.0})
    for m, caught in ((seen, True), (blind, False)):
        cs = m.table
        called = cs.column("hl_callback") >= 0
        solved = cs.column("hl_solved") & called
        resolved = (cs.column("state") == State.RESOLVED) & (cs.column("closed") <= cs.column("hl_callback")) & called
        superficial_at_cb = called & ~resolved & ((cs.column("state") == State.SUPERFICIAL) | (cs.column("reopened") > 0))
        assert superficial_at_cb.sum() > 5
        if caught:
            assert (solved == resolved).all()
            assert _flow(m, "hotline_caught") > 0
        else:
            assert _flow(m, "hotline_caught") == 0
            assert solved.sum() >= resolved.sum() + 1
            assert (solved <= (resolved | superficial_at_cb)).all()
    assert blind.summary()["hotline_resolution_rate"] > seen.summary()["hotline_resolution_rate"]


def test_perfect_routing_acknowledges_department_demands_at_once():
    """With every dispatch right (accuracy 1, no reporting loss) and no dispatch delay, a
    department demand is held ready the day it is called in: all responded. With the baseline's
    silo routing some go to the wrong department and come back late: fewer responded."""
    def rate(m):
        cs = m.table
        d = (cs.column("hl_callback") >= 0) & cs.column("needs_dept")
        return cs.column("hl_responded")[d].mean(), d.sum()

    sure, n = rate(_run(days=120, levers={"hotline_reach": 1.0}, handling={"routing_accuracy": 1.0}))
    silo, _ = rate(_run(days=120, levers={"hotline_reach": 1.0}, handling={"routing_accuracy": 0.3}))
    assert n > 30
    assert sure == 1.0
    assert silo < sure - 0.2  # ~70% misrouted come back after bounce_delay > response_days


def test_the_three_rates_are_in_the_summary_the_time_series_and_the_registry(run):
    s = run.summary()
    ts = run.timeseries()
    for name in ("hotline_response_rate", "hotline_resolution_rate", "hotline_satisfaction_rate"):
        assert 0.0 <= s[name] <= 1.0, name
        assert name in KPIS and KPIS[name].kind == "rate"
        assert KPIS[name].en and KPIS[name].zh
        col = ts[f"{name}_30d"]
        assert col.notna().sum() > 60 and col.dropna().between(0, 1).all()
    # the rates over the demands called back equal the case columns
    cs = run.table
    called = cs.column("hl_callback") >= 0
    assert s["hotline_resolution_rate"] == pytest.approx(cs.column("hl_solved")[called].mean())
    assert s["hotline_demands"] == int((cs.column("channel") == Channel.HOTLINE).sum())
    m = run.summary()
    assert m["needs_arisen"] >= m["hotline_demands"]


def test_resolved_and_quick_demands_satisfy_more_than_open_ones():
    """The caller's answer follows what they got: among callbacks, resolved demands are satisfied
    far more often than those still open (sat_open = 0.1) -- 3 binomial SDs apart at least."""
    m = _run(days=365, levers={"hotline_reach": 1.0}, structure={"dept_staff_per_100k": 1.0})
    cs = m.table
    called = cs.column("hl_callback") >= 0
    sat = cs.column("hl_satisfied")
    resolved = called & (cs.column("state") == State.RESOLVED) & cs.column("hl_solved")
    still_open = called & (cs.column("closed") < 0)
    assert resolved.sum() > 20 and still_open.sum() > 20
    a, b = sat[resolved].mean(), sat[still_open].mean()
    sd = np.sqrt(0.25 / resolved.sum() + 0.25 / still_open.sum())
    assert a - b > 3 * sd, (a, b)
    assert b == pytest.approx(m.p.hotline.sat_open, abs=4 * np.sqrt(0.09 / still_open.sum()))


def test_without_the_hotline_nothing_is_called_back():
    m = _run(days=60, levers={"hotline_reach": 0.0})
    assert _flow(m, "hotline_filed") == _flow(m, "hotline_callbacks") == 0
    assert np.isnan(m.summary()["hotline_response_rate"])
    assert m.mechanisms.evaluation.record.hotline_n.sum() == 0
