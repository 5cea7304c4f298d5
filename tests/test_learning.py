"""Evaluation and learning that bite (MODEL §12.4).

1. The learner climbs the gradient its payoffs set, even when a unit's payoff noise is twice the
   payoff difference of one trial step (synthetic payoffs: the rule itself, isolated).
2. The positive controls of MODEL §12.4 on the city preset (fixed seed, two years): evaluation
   paying only for closure counts at high strength raises the mean superficial-closure
   propensity; paying only for satisfaction callbacks lowers it; heavy accountability for
   escalation raises concealment where hiding is never found out, and being found out curbs it.

Tolerances: the mean over ~300 evaluated units of a choice whose units spread by ~0.1 has a
standard error of ~0.006 if units were independent; learning makes them dependent (they copy
each other), so the controls ask for changes of at least 0.03 (5 such standard errors) and for
the direction against the arm with the opposite or no incentive.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from conftest import make_model

from sim.mechanisms.evaluation import CHOICES, Learner, initial_strategy
from sim.params import Evaluation

SUPERFICIAL, CONCEAL = CHOICES.index("superficial"), CHOICES.index("conceal")
NOISE = 0.2                      # payoff noise per unit and period (a community's ~6 closures a month)


def climb(slope: float, ev: Evaluation, periods: int = 24, n: int = 240, seed: int = 0) -> float:
    """Mean superficial propensity after ``periods`` periods of payoffs slope x propensity + noise."""
    units = np.arange(n)
    strategy = initial_strategy(n, units, ev)
    learner = Learner(units, window=ev.trial_periods)
    rng = np.random.default_rng(seed)
    for _ in range(periods):
        pay = slope * strategy[:, SUPERFICIAL] + rng.normal(0.0, NOISE, n)
        learner.update(strategy, pay, ev, rng)
    return float(strategy[:, SUPERFICIAL].mean())


def test_the_learner_climbs_a_gradient_below_the_noise():
    """One trial step changes the payoff by slope x learning_step = 0.1, half the noise (0.2). Over
    two years (24 periods) the mean propensity must rise under a positive slope, fall under a
    negative one, and stay near where it started (the drift of clipping at 0) without one; in every
    one of three seeds."""
    ev = Evaluation()
    start = ev.initial_superficial
    for seed in range(3):
        up, flat, down = (climb(slope, ev, seed=seed) for slope in (1.0, 0.0, -1.0))
        assert up > flat + 0.1, (seed, up, flat)
        assert down < start - 0.03 and down < flat, (seed, down)
        assert abs(flat - start) < 0.05, (seed, flat)


def test_without_imitation_the_lone_hill_climber_barely_moves():
    """The reason for imitation (v1's rule alone): the same gradient moves a lone trial-and-error
    learner much less than the full rule."""
    full = np.mean([climb(1.0, Evaluation(), seed=s) for s in range(3)])
    alone = np.mean([climb(1.0, Evaluation(imitation_rate=0.0), seed=s) for s in range(3)])
    assert full - alone > 0.1, (full, alone)


def test_peers_are_of_the_same_kind():
    units = np.arange(10)
    kinds = np.array([0] * 4 + [1] * 6)
    learner = Learner(units, kinds)
    for _ in range(20):
        peer = learner.peers(np.random.default_rng(_))
        assert (kinds[peer] == kinds).all()


def test_units_copy_a_better_peer_and_not_a_worse_one():
    ev = Evaluation(imitation_rate=1.0, imitation_gain=100.0, learning_noise=0.0)
    units = np.arange(2)
    strategy = initial_strategy(2, units, ev)
    strategy[1] = (0.9, 0.1, 0.8, 0.7)
    learner = Learner(units)
    rng = np.random.default_rng(3)
    for _ in range(50):  # until unit 0 drew unit 1 as its peer
        s = strategy.copy()
        learner = Learner(units)
        learner.update(s, np.array([0.0, 1.0]), ev, rng)
        if learner.copied[0]:
            break
    assert learner.copied[0] and not learner.copied[1]
    np.testing.assert_allclose(s[0], (0.9, 0.1, 0.8, 0.7))


# ---------------------------------------------------------------------------------------------
# positive controls on the city (MODEL §12.4)
# ---------------------------------------------------------------------------------------------

ONLY = dict(w_process=0.0, w_closures=0.0, w_satisfaction=0.0, w_local=0.0, accountability=0.0,
            incentive_strength=3.0)
ARMS = {"closures": {**ONLY, "w_closures": 1.0},
        "satisfaction": {**ONLY, "w_satisfaction": 1.0},
        "accountability": {**ONLY, "accountability": 1.0},
        "none": ONLY}


@functools.cache
def day0(arm: str) -> tuple[float, float]:
    """Mean superficial and concealment propensities at reported day 0 (after the burn-in under the
    baseline's evaluation): where the arm's evaluation starts from."""
    m = make_model(preset="city", days=730, levers=ARMS[arm])
    ev = m.units.evaluated()
    return float(m.superficial[ev].mean()), float(m.conceal[ev].mean())


#: What concealment costs, switched off to isolate one rule: "escalations" leaves only the escalation
#: penalty it avoids (never found out, eruptions not penalised); "found out" adds the exposure rule.
COSTS = {"all": {},
         "escalations": {"handling": {"p_exposed_inspection": 0.0, "p_exposed_hotline": 0.0},
                         "evaluation": {"eruption_penalty": 0.0}},
         "found out": {"evaluation": {"eruption_penalty": 0.0}}}


@functools.cache
def after_two_years(arm: str, costs: str = "all") -> tuple[float, float]:
    m = make_model(preset="city", days=730, levers=ARMS[arm], **COSTS[costs])
    m.run()
    ev = m.units.evaluated()
    return float(m.superficial[ev].mean()), float(m.conceal[ev].mean())


@pytest.mark.slow
def test_closure_counts_raise_superficial_closure():
    start, _ = day0("closures")
    sup, _ = after_two_years("closures")
    sup_sat, _ = after_two_years("satisfaction")
    print(f"superficial propensity after two years: closures {sup:.3f}, satisfaction {sup_sat:.3f} (start {start})")
    assert sup > start + 0.03 and sup > sup_sat + 0.03


@pytest.mark.slow
def test_satisfaction_callbacks_lower_superficial_closure():
    start, _ = day0("satisfaction")
    sup, _ = after_two_years("satisfaction")
    print(f"superficial propensity: day 0 {start:.3f}, after two years of satisfaction callbacks {sup:.3f}")
    assert sup < start - 0.02


@pytest.mark.slow
def test_heavy_accountability_raises_concealment():
    """Where hiding a case only avoids the escalation penalty (never found out, eruptions not
    penalised), heavy accountability for escalations must raise concealment."""
    _, heavy = after_two_years("accountability", "escalations")
    _, none = after_two_years("none", "escalations")
    print(f"concealment after two years, escalation penalty only: accountability 1: {heavy:.3f}, 0: {none:.3f}")
    assert heavy > none + 0.03


@pytest.mark.slow
def test_being_found_out_curbs_concealment():
    """Under heavy accountability, concealment that can be found out (and is punished then) pays less
    than concealment that never is."""
    _, found = after_two_years("accountability", "found out")
    _, never = after_two_years("accountability", "escalations")
    print(f"concealment after two years under accountability 1: found out {found:.3f}, never {never:.3f}")
    assert found < never - 0.03
