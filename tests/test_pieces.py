"""The pieces the model is built from, one at a time: the case table, the unit index maps,
the evaluation record, payoffs and the learner, the organisations' own rules, and the layout
of the mechanisms (one stage each, their counters, no behavioural number left in code)."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import make_model

from sim import mechanisms, metrics
from sim.actors import Department, Staffing, Street
from sim.city import N_DOMAINS, Units, build_territory
from sim.disputes import CASE_COLUMNS, MAX_PARTIES, CaseTable, Handler, Level, State
from sim.mechanisms.evaluation import CHOICES, Learner, PeriodRecord, bounds, initial_strategy, payoffs
from sim.model import CoGovernanceModel
from sim.params import Evaluation, Levers, Workforce

MECHANISMS_DIR = Path(mechanisms.__file__).parent

# ---------------------------------------------------------------------------------------------
# the case table
# ---------------------------------------------------------------------------------------------


def _add(table: CaseTable, k: int, **columns) -> np.ndarray:
    parties = np.full((k, MAX_PARTIES), -1, dtype=np.int32)
    parties[:, 0] = np.arange(k)
    return table.add(k, parties, **columns)


def test_case_table_grows_and_keeps_what_it_holds():
    table = CaseTable(capacity=16)
    first = _add(table, 10, severity=np.linspace(0.1, 0.9, 10, dtype=np.float32), community=np.arange(10))
    second = _add(table, 40, severity=np.full(40, 0.5, dtype=np.float32), community=np.full(40, 7))
    assert list(first) == list(range(10)) and list(second) == list(range(10, 50))
    assert table.n == 50
    np.testing.assert_allclose(table.column("severity")[:10], np.linspace(0.1, 0.9, 10), rtol=1e-6)
    assert (table.column("community")[10:] == 7).all()
    # columns not given keep their fill values, also in the grown part
    for name, (dtype, fill) in CASE_COLUMNS.items():
        col = table.column(name)
        assert col.dtype == dtype and len(col) == 50
        if name not in ("severity", "community"):
            np.testing.assert_array_equal(col, np.full(50, fill, dtype=dtype), err_msg=name)
    assert (table.parties[:50, 1:] == -1).all()


def test_open_index_and_release():
    table = CaseTable()
    _add(table, 6)
    table.state[:6] = [State.LATENT, State.ACTIVE, State.RESOLVED, State.SUPERFICIAL, State.ERUPTED, State.ACTIVE]
    assert list(table.open_index()) == [0, 1, 5]
    idx = np.array([1, 5])
    table.handler[idx], table.holder[idx], table.work[idx] = Handler.DEPARTMENT, 42, 3.0
    table.misrouted[idx] = table.coordinated[idx] = table.referred[idx] = True
    table.release(idx[:1])
    assert (table.handler[1], table.holder[1], table.work[1]) == (-1, -1, 0.0)
    assert not (table.misrouted[1] or table.coordinated[1] or table.referred[1])
    assert (table.handler[5], table.holder[5], table.work[5]) == (Handler.DEPARTMENT, 42, 3.0)  # untouched
    assert table.misrouted[5] and table.coordinated[5] and table.referred[5]


# ---------------------------------------------------------------------------------------------
# the unit index maps
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def units():
    counts = dict(districts=2, streets=5, communities=13, grids=20)
    t = build_territory(counts, 2000, np.random.default_rng(3))
    return t, Units(t, so_per_street=2)


def test_unit_index_space_is_contiguous_and_typed(units):
    t, u = units
    C, S, D = t.n_communities, t.n_streets, t.n_districts
    assert u.n == C + C + 2 * S + S + D + D * N_DOMAINS + 1 + N_DOMAINS
    c = np.arange(C)
    assert (u.kind[u.council(c)] == Handler.COUNCIL).all()
    assert (u.kind[u.community_unit(c)] == Handler.COMMUNITY).all()
    assert (u.community[u.community_unit(c)] == c).all() and (u.community[u.council(c)] == c).all()
    assert (u.kind[u.street_unit(np.arange(S))] == Handler.STREET).all()
    assert (u.kind[u.district_unit(np.arange(D))] == Handler.DISTRICT).all()
    assert u.kind[u.city_unit] == Handler.CITY
    for d in range(D):
        for k in range(N_DOMAINS):
            unit = u.district_dept(d, k)
            assert (u.kind[unit], u.district[unit], u.domain[unit]) == (Handler.DEPARTMENT, d, k)
    assert (u.domain[u.city_dept(np.arange(N_DOMAINS))] == np.arange(N_DOMAINS)).all()
    assert (u.district[u.city_dept(np.arange(N_DOMAINS))] == -1).all()
    # each community's social organisation serves the community's own street
    assert (u.kind[u.community_so] == Handler.SOCIAL_ORG).all()
    assert (u.street[u.community_so] == t.community_street).all()
    evaluated = u.kind[u.evaluated()]
    assert set(evaluated) == {Handler.COMMUNITY, Handler.STREET, Handler.DEPARTMENT}


def test_responsible_unit(units):
    """The holder answers for a case, except that a council or social organisation answers to its
    community, and a case nobody holds answers to the unit of its level."""
    t, u = units
    table = CaseTable()
    _add(table, 6, community=np.full(6, 4), street=np.full(6, t.community_street[4]),
         district=np.full(6, t.community_district[4]))
    table.handler[:6] = [Handler.COUNCIL, Handler.SOCIAL_ORG, Handler.DEPARTMENT, -1, -1, -1]
    table.holder[:6] = [u.council(4), u.community_so[4], u.district_dept(0, 3), -1, -1, -1]
    table.level[:6] = [Level.GRASSROOTS, Level.GRASSROOTS, Level.DISTRICT, Level.GRASSROOTS, Level.STREET, Level.CITY]
    got = u.responsible(table, np.arange(6))
    street, district = t.community_street[4], t.community_district[4]
    assert list(got) == [u.community_unit(4), u.community_unit(4), u.district_dept(0, 3), u.community_unit(4),
                         u.street_unit(street), u.district_unit(district)]


# ---------------------------------------------------------------------------------------------
# evaluation: the record, payoffs and the learner
# ---------------------------------------------------------------------------------------------


def test_period_record_adds_per_unit_and_resets():
    rec = PeriodRecord(4)
    rec.add("closures", np.array([0, 2, 2]))
    rec.add("sat_sum", np.array([2, 3]), np.array([0.5, 0.25]))
    rec.add("resolved", np.array([], dtype=np.int64))
    assert list(rec.closures) == [1, 0, 2, 0]
    assert list(rec.sat_sum) == [0, 0, 0.5, 0.25]
    rec.reset()
    assert all(not getattr(rec, f).any() for f in PeriodRecord.FIELDS)


def test_payoff_of_a_known_record():
    """One unit, 10 closures of which 8 real, 2 escalations, satisfaction 0.6 from callbacks, no
    street rating; paperwork at half the full-trace share."""
    ev, lv = Evaluation(), Levers(w_process=0.5, w_closures=0.2, w_satisfaction=0.3, w_local=0.1,
                                  accountability=0.4, incentive_strength=2.0)
    rec = PeriodRecord(1)
    rec.closures[:], rec.resolved[:], rec.escalated[:] = 10, 8, 2
    rec.sat_sum[:], rec.sat_n[:] = 6.0, 10
    strategy = np.array([[0.7, ev.trace_full / 2, 0.1, 0.1]], dtype=np.float32)
    workload = 12
    score = (0.5 * 0.5 + 0.2 * 10 / workload + 0.3 * 0.6 + 0.1 * ev.no_callback_score - 0.4 * 2 / workload)
    expected = ev.intrinsic * 8 / workload + 2.0 * score - ev.effort_cost * 0.7 ** 2
    assert payoffs(rec, strategy, lv, ev)[0] == pytest.approx(expected, rel=1e-6)
    # an eruption weighs eruption_penalty escalations
    rec.erupted[:] = 1
    lower = payoffs(rec, strategy, lv, ev)[0]
    workload = 13
    score = (0.5 * 0.5 + 0.2 * 10 / workload + 0.3 * 0.6 + 0.1 * ev.no_callback_score
             - 0.4 * (2 + ev.eruption_penalty) / workload)
    assert lower == pytest.approx(ev.intrinsic * 8 / workload + 2.0 * score - ev.effort_cost * 0.7 ** 2, rel=1e-6)


def test_learner_keeps_what_pays_and_reverts_what_does_not():
    """Two units try the same kind of change; the one whose payoff fell reverts it, the other keeps it."""
    ev = Evaluation(learning_noise=0.0, imitation_rate=0.0)
    units = np.array([0, 1])
    strategy = initial_strategy(2, units, ev)
    learner = Learner(units)
    rng = np.random.default_rng(0)
    start = strategy.copy()
    learner.update(strategy, np.array([1.0, 1.0]), ev, rng)  # first period: a baseline, then a trial
    tried = strategy.copy()
    dims = learner.trial_dim.copy()
    old = learner.trial_old.copy()
    assert (tried[units, dims] != start[units, dims]).all()  # both trials changed something
    learner.update(strategy, np.array([0.5, 1.5]), ev, rng)  # unit 0 did worse, unit 1 better
    # unit 0 reverted its trial dimension (then started a new trial, possibly on another dimension)
    if learner.trial_dim[0] != dims[0]:
        assert strategy[0, dims[0]] == old[0]
    else:
        assert learner.trial_old[0] == old[0]
    if learner.trial_dim[1] != dims[1]:
        assert strategy[1, dims[1]] == tried[1, dims[1]]
    else:
        assert learner.trial_old[1] == tried[1, dims[1]]
    assert learner.baseline[1] == 1.5 and learner.baseline[0] == 1.0  # a reverted trial keeps the old baseline


def test_a_trial_is_judged_by_its_mean_payoff_over_the_window():
    """With a window of 3 periods a trial runs three periods untouched and is then judged by their
    mean payoff: one bad period among three good ones does not revert it; a worse mean does."""
    ev = Evaluation(learning_noise=0.0, imitation_rate=0.0)
    units = np.array([0, 1])
    strategy = initial_strategy(2, units, ev)
    learner = Learner(units, window=3)
    rng = np.random.default_rng(0)
    for _ in range(3):  # the first window sets the baseline (mean 1.0), then a trial starts
        learner.update(strategy, np.array([1.0, 1.0]), ev, rng)
    dims, old = learner.trial_dim.copy(), learner.trial_old.copy()
    tried = strategy.copy()
    assert (dims >= 0).all()
    # unit 0: 0.4, 1.4, 1.4 (mean 1.07, kept); unit 1: 1.2, 0.8, 0.7 (mean 0.9, reverted)
    for period, pay in enumerate(([0.4, 1.2], [1.4, 0.8], [1.4, 0.7])):
        learner.update(strategy, np.array(pay), ev, rng)
        if period < 2:  # mid-window: nothing is judged or changed
            np.testing.assert_array_equal(strategy, tried)
            np.testing.assert_array_equal(learner.trial_dim, dims)
    assert learner.baseline[0] == np.float64(np.mean([0.4, 1.4, 1.4]))
    assert learner.baseline[1] == 1.0
    if learner.trial_dim[1] != dims[1]:
        assert strategy[1, dims[1]] == old[1]
    if learner.trial_dim[0] != dims[0]:
        assert strategy[0, dims[0]] == tried[0, dims[0]]


def test_learner_stays_within_bounds():
    ev = Evaluation(learning_step=0.5, learning_noise=0.1)
    units = np.arange(200)
    strategy = initial_strategy(200, units, ev)
    learner = Learner(units)
    rng = np.random.default_rng(1)
    low, high = bounds(ev)
    for _ in range(50):
        learner.update(strategy, rng.random(200), ev, rng)
        assert (strategy >= low).all() and (strategy <= high).all()
    assert len(CHOICES) == strategy.shape[1]


def test_initial_strategy_evaluated_units_only():
    ev = Evaluation()
    s = initial_strategy(5, np.array([1, 3]), ev)
    assert list(s[0]) == [1.0, 0.0, 0.0, 0.0]
    np.testing.assert_allclose(s[3], [ev.initial_effort, ev.initial_paperwork, ev.initial_superficial,
                                      ev.initial_conceal])


# ---------------------------------------------------------------------------------------------
# organisations' own rules (sim/actors.py)
# ---------------------------------------------------------------------------------------------


def test_staff_burn_out_only_under_overload():
    w = Workforce()
    b = np.array([0.5, 0.5])
    b = Staffing.feel_load(b, np.array([w.overload_utilisation + 0.01, w.overload_utilisation]), w)
    assert b[0] == pytest.approx(0.5 + w.burnout_gain)  # overload
    assert b[1] == pytest.approx(0.5 - w.burnout_recovery)  # at the threshold: no overload
    for _ in range(20):
        b = Staffing.feel_load(b, np.ones(2), w)
    assert (b == 1.0).all()


def test_turnover_without_hazard_or_vacancies_changes_nobody():
    w = Workforce(turnover_base=0.0, burnout_turnover=0.0)
    staff, zero = np.full(3, 10.0), np.zeros(3)
    present, leavers, vac, new = Staffing.turnover(staff, zero, np.ones(3), np.full(3, 0.2), zero,
                                                   np.random.default_rng(0), w, 30)
    assert list(present) == [10.0] * 3 and leavers.sum() == 0 and (vac == 0).all()
    np.testing.assert_allclose(new, 0.2 * (1 - 30 / 365))  # hires of last year age


def test_turnover_rises_with_burnout():
    w = Workforce()
    rng = np.random.default_rng(5)
    staff, zero, base = np.full(400, 50.0), np.zeros(400), np.full(400, w.turnover_base)
    _, calm_left, _, _ = Staffing.turnover(staff, zero, zero, zero, base, rng, w, 30)
    _, burnt_left, _, _ = Staffing.turnover(staff, zero, np.ones(400), zero, base, rng, w, 30)
    assert burnt_left.mean() > calm_left.mean()


def test_department_whistle_response():
    """Faster with more whistle power, more weight of the street's rating and a stronger street -
    department tie (from whistle_tie_floor of it with no tie); capped at 1."""
    p = make_model().p
    h, n = p.handling, p.network
    lv = Levers(whistle_power=0.5, w_local=0.0)
    base = Department.whistle_response(lv, h, n, 1.0)
    assert base == pytest.approx(0.5 * (1 - h.whistle_local_weight) / n.whistle_days)
    assert Department.whistle_response(lv, h, n, 0.0) == pytest.approx(base * n.whistle_tie_floor)
    assert Department.whistle_response(lv, h, n, 0.5) < base
    assert Department.whistle_response(Levers(whistle_power=0.5, w_local=1.0), h, n, 1.0) > base
    assert Department.whistle_response(Levers(whistle_power=1.0, w_local=0.0), h, n, 1.0) > base
    fast = n.model_copy(update={"whistle_days": 0.1})
    assert Department.whistle_response(Levers(whistle_power=1.0, w_local=1.0), h, fast, 1.0) == 1.0
    assert Street.whistles(Levers(whistle_power=0.0)) is False and Street.whistles(lv) is True


# ---------------------------------------------------------------------------------------------
# the layout of the mechanisms
# ---------------------------------------------------------------------------------------------


def test_one_stage_per_mechanism_in_the_documented_order():
    names = [cls.name for cls in mechanisms.STAGES]
    assert len(set(names)) == len(names)
    for cls in mechanisms.STAGES:  # each in a module of its own name
        assert cls.__module__ == f"sim.mechanisms.{cls.name}"
    doc = CoGovernanceModel.step.__doc__
    positions = [doc.index(f"{name}:") for name in names]
    assert positions == sorted(positions), "step's docstring lists the stages in another order"


def test_the_model_runs_the_stages_in_order():
    m = make_model(days=3)
    seen = []
    for mech in m.mechanisms:
        step = mech.step
        mech.step = (lambda s=step, n=mech.name: (seen.append(n), s()))
    m.step()
    assert seen == [cls.name for cls in mechanisms.STAGES]


def test_every_daily_counter_is_declared_by_one_stage():
    declared = [c for cls in mechanisms.STAGES for c in cls.counters]
    assert set(declared) == set(metrics.FLOWS)
    # bounces are counted by routing (misrouted cases back) and coordination (push-back), declared once
    assert len(declared) == len(set(declared))


def test_stages_count_only_what_they_declare():
    """Every counter a stage bumps (``self.count("name", ...)``) is among its declared counters."""
    for cls in mechanisms.STAGES:
        source = inspect.getsource(inspect.getmodule(cls))
        bumped = set(re.findall(r'self\.count\("([a-z_]+)"', source))
        for prefix in re.findall(r'self\.count\(f"([a-z_]+)\{', source):
            assert any(c.startswith(prefix) for c in cls.counters), (cls.name, prefix)
        allowed = set(cls.counters) | ({"bounces"} if cls.name == "coordination" else set())
        assert bumped <= allowed, (cls.name, bumped - allowed)


ALLOWED_FLOATS = {0.0, 1.0}


def bare_floats(source: str) -> list[tuple[int, float]]:
    """Float literals other than 0 and 1 in ``source``, except on lines marked ``# lint: <reason>``
    and in module-level UPPER_CASE constants (units and guards, which must say what they are)."""
    lines = source.splitlines()
    tree = ast.parse(source)
    constants = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets):
            constants.update(id(n) for n in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, float) and node.value not in ALLOWED_FLOATS \
                and id(node) not in constants and "# lint:" not in lines[node.lineno - 1]:
            found.append((node.lineno, node.value))
    return found


def test_the_lint_finds_a_bare_coefficient():
    assert bare_floats("def f(x):\n    return 0.7 * x + 1.0\n") == [(2, 0.7)]
    assert bare_floats("HALF = 0.5\ndef f(u):\n    return u < 0.5  # lint: a fair coin\n") == []


@pytest.mark.parametrize("path", sorted(MECHANISMS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_no_behavioural_number_lives_only_in_a_mechanism(path):
    """MODEL §12.8: every number that decides behaviour is a schema field; a mechanism module may
    hold only 0, 1, integers, and named unit or guard constants."""
    assert bare_floats(path.read_text(encoding="utf-8")) == [], f"{path.name}: move these into sim/params.py"
    if path.name != "base.py":
        constants = [n for n in ast.parse(path.read_text()).body if isinstance(n, ast.Assign)
                     and any(isinstance(c, ast.Constant) and isinstance(c.value, float) for c in ast.walk(n))]
        assert constants == [], f"{path.name}: float constants belong in base.py (units) or the schema"


def test_the_lever_registry_names_the_mechanism_modules():
    """Every mechanism a lever acts in (sim.registry) is a module of sim/mechanisms: the stages and
    the completeness of reporting (information)."""
    from sim import registry

    modules = {p.stem for p in MECHANISMS_DIR.glob("*.py")} - {"__init__", "base", "costs"}
    assert set(registry.MECHANISMS) == modules
    assert {cls.name for cls in mechanisms.STAGES} | {"information"} == modules
