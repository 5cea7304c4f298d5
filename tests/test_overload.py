"""Capacity that binds (MODEL §12.3): triage, rushed work under overload, burnout and turnover of
streets and departments, budget-neutral scenarios. Each test isolates one mechanism on a model
whose cases it lays out itself, with fixed seeds; tolerances from sampling theory (a one-sided
two-proportion z-test must clear z > 3, the 3-SD rule)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import make_model

from sim.disputes import Handler, Level, State

N_CASES = 3000


def z_two_proportions(x1: int, n1: int, x2: int, n2: int) -> float:
    """z of the one-sided test that share x1/n1 exceeds x2/n2 (pooled standard error)."""
    p = (x1 + x2) / (n1 + n2)
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    return (x1 / n1 - x2 / n2) / se if se > 0 else 0.0


def lay_out_queue(m, n: int, work: float, severity=None):
    """``n`` active cases held by community 0's workers, each needing ``work`` person-days; no unit
    takes shortcuts; on a model without burn-in they are the unit's whole queue. Returns the
    cases' indices and the community's unit."""
    unit = int(m.units.community_unit(0))
    cs = m.table
    sev = np.full(n, 0.3, dtype=np.float32) if severity is None else severity.astype(np.float32)
    parties = np.full((n, cs.parties.shape[1]), -1, dtype=np.int32)
    parties[:, 0] = np.arange(n) % m.population.n
    idx = cs.add(n, parties, type=np.zeros(n, dtype=np.int8), severity=sev, severity0=sev,
                 state=np.full(n, State.ACTIVE, dtype=np.int8), level=np.full(n, Level.GRASSROOTS, dtype=np.int8),
                 detected=np.zeros(n, dtype=np.int32), created=np.zeros(n, dtype=np.int32))
    m.mechanisms.routing.take(idx, Handler.COMMUNITY, np.full(n, unit))
    cs.work[idx] = cs.work_need[idx] = work
    m.superficial[:] = 0.0
    return idx, unit


def handle_until_done(m, unit: int, capacity: float, days: int = 400) -> None:
    """Run only the handling stage, day after day, with the unit's capacity fixed."""
    h = m.mechanisms.handling
    for _ in range(days):
        m.capacity[:] = 0.0
        m.capacity[unit] = capacity
        h.step()
        m.day += 1


def success_share(capacity: float, seed: int = 1) -> tuple[int, int, int]:
    """Resolved and finished cases of one community's queue of N_CASES cases of 1 person-day each,
    worked at ``capacity`` person-days a day; and how many were finished in a rush."""
    m = make_model(seed=seed, burn_in=0)  # the queue is only the cases laid out here
    idx, unit = lay_out_queue(m, N_CASES, 1.0)
    handle_until_done(m, unit, capacity)
    cs = m.table
    resolved = int((cs.state[idx] == State.RESOLVED).sum())
    finished = resolved + int(((cs.state[idx] == State.ACTIVE) & (cs.holder[idx] < 0)).sum())  # failed: released
    return resolved, finished, int(m.today["rushed"])


def test_overload_lowers_success_per_case():
    """The same unit, the same 3,000 cases: with capacity enough to clear them within overload_days
    (never overloaded) it succeeds more often per finished case than with a tenth of that capacity
    (a queue of 10 x overload_days: rushed work)."""
    m = make_model()
    ov = m.p.overload
    calm_capacity = N_CASES / ov.overload_days          # queue = overload_days: not beyond the threshold
    res_calm, fin_calm, rushed_calm = success_share(calm_capacity)
    res_rush, fin_rush, rushed = success_share(calm_capacity / 10)
    assert fin_calm == N_CASES and fin_rush == N_CASES  # every case was finished in both arms
    assert rushed_calm == 0 and rushed > 0
    print(f"success per case: {res_calm / fin_calm:.3f} below the threshold, {res_rush / fin_rush:.3f} overloaded")
    z = z_two_proportions(res_calm, fin_calm, res_rush, fin_rush)
    assert z > 3, (res_calm, fin_calm, res_rush, fin_rush, z)


def test_below_the_threshold_work_is_done_in_full():
    """Negative control: a queue below overload_days of capacity gets all the work it needs; above
    it (positive control) work is rushed."""
    for factor, rushed in ((2.0, False), (0.2, True)):
        m = make_model(burn_in=0)
        idx, unit = lay_out_queue(m, 500, 1.0)
        handle_until_done(m, unit, 500 / m.p.overload.overload_days * factor, days=60)
        assert m.today["finished"] == 500
        assert (m.today["rushed"] > 0) == rushed


def test_triage_serves_severity_first():
    """A queue longer than capacity: the severe half of the cases is finished before the mild half."""
    m = make_model(burn_in=0)
    sev = np.r_[np.full(200, 0.1), np.full(200, 0.8)]
    idx, unit = lay_out_queue(m, 400, 1.0, severity=sev)
    handle_until_done(m, unit, 100.0, days=1)  # a queue of 4 days (below overload_days): a quarter done
    done = m.table.holder[idx] < 0
    assert done[200:].sum() == 100 and done[:200].sum() == 0


def test_shortcuts_close_superficially_after_part_of_the_work():
    """A unit that always takes the shortcut closes every case superficially, spending only
    superficial_work of the needed work."""
    m = make_model(burn_in=0)
    idx, unit = lay_out_queue(m, 200, 1.0)
    m.superficial[unit] = 1.0
    handle_until_done(m, unit, 1000.0, days=2)
    cs = m.table
    assert (cs.state[idx] == State.SUPERFICIAL).all()
    assert m.used[unit] == pytest.approx(200 * m.p.overload.superficial_work, rel=1e-4)
    assert (cs.closer[idx] == unit).all()


def test_burnout_raises_street_and_department_turnover():
    """Isolated: the same city, two years of evaluation periods with every unit's case capacity fully
    used (overload) or idle; streets' and departments' staff leave more under overload."""
    left = {}
    for load in (0.0, 1.0):
        m = make_model(preset="city")
        m.available[:] = 1.0
        ev = m.mechanisms.evaluation
        for period in range(24):
            m.used[:] = load
            m.available[:] = 1.0
            m.day = period * m.p.evaluation.period
            ev.workforce()
        kinds = m.units.kind
        units = np.flatnonzero((kinds == Handler.STREET) | (kinds == Handler.DEPARTMENT))
        left[load] = (m.totals.staff_left, m.totals.staff_years, float(m.staffing.burnout[units].mean()))
    assert left[1.0][2] == 1.0 and left[0.0][2] == 0.0
    calm, burnt = left[0.0][0], left[1.0][0]
    # Poisson counts of leavers: (a - b) / sqrt(a + b) > 3
    assert (burnt - calm) / math.sqrt(burnt + calm) > 3, left
    assert m.staffing.skill.min() < 1.0  # new hires are less skilled


def test_budget_neutral_spending_cuts_staff_and_funded_adds_money():
    """More purchased services: funded adds money and cuts nobody; budget-neutral cuts staff capacity
    by the added cost over staff_day and adds (almost) no money."""
    lv = {"social_org_funding": 1.0, "authority_devolution": 0.5, "resources_follow": 1.0}
    # from the empty city (burn_in 0): every post filled, so capacity differs only by the cut
    funded = make_model(levers=lv, costs={"funding": "funded"}, burn_in=0)
    neutral = make_model(levers=lv, costs={"funding": "budget_neutral"}, burn_in=0)
    base = make_model(burn_in=0)
    for m in (funded, neutral, base):
        m.run(30)
    assert funded.costs.staff_cut() == 0 and neutral.costs.staff_cut() > 0
    assert all(d.moved_out == 0 for d in funded.departments) and all(d.moved_out > 0 for d in neutral.departments)
    f, n, b = (m.summary() for m in (funded, neutral, base))
    assert f["added_budget_per_resident"] > 0 and b["added_budget_per_resident"] == 0
    assert abs(n["added_budget_per_resident"]) < 1e-6 * f["added_budget_per_resident"] + 1e-9
    assert n["budget"] == pytest.approx(b["budget"], rel=0.02)  # the same money as the baseline (vacancies aside)
    dept = [d.unit for d in funded.departments]
    assert (neutral.capacity[dept] < funded.capacity[dept]).all()
