"""Evaluation (考核), learning and the workforce (MODEL §5; ODD §7.15-§7.16).

Every evaluation period each evaluated unit (community, street, department) gets a score
from the period's record, weighted by the scenario's evaluation levers, and a payoff:

    payoff = intrinsic * real_resolution_rate
           + incentive_strength * (w_process * traces + w_closures * closure_rate
                                   + w_satisfaction * callback_satisfaction
                                   + w_local * street_rating - accountability * penalty)
           - effort_cost * effort**2

where traces = min(paperwork / trace_full, 1) and penalty = (escalations + eruption_penalty x
eruptions) / workload. Units do not know how the payoff depends on their choices; they learn
by trial and error (a noisy hill-climber, "win-stay, lose-shift"): each period they try a small
change in one of their four choices, keep it if the payoff did not fall (as they perceive it,
with noise), and revert it otherwise. Count-based weights therefore invite superficial
closure, heavy accountability invites concealment and process weight pulls time into
paperwork, only where the model's mechanics make those choices pay.

At the same time community workers' utilisation over the period drives their burnout and
burnout their turnover (the rules are ``Community`` methods in ``sim.actors``); new hires are
less skilled until they have a year's experience.
"""

from __future__ import annotations

import numpy as np

from ..actors import Community
from ..params import Evaluation as EvaluationParams
from ..params import Levers
from .base import DAYS_PER_YEAR, Mechanism

#: The choices units learn, in the columns of the model's ``strategy`` array.
CHOICES = ("effort", "paperwork", "superficial", "conceal")


def bounds(ev: EvaluationParams) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest value of each choice."""
    return (np.array([ev.min_effort, 0.0, 0.0, 0.0], dtype=np.float32),
            np.array([1.0, ev.max_paperwork, 1.0, 1.0], dtype=np.float32))


def initial_strategy(n_units: int, evaluated: np.ndarray, ev: EvaluationParams) -> np.ndarray:
    """Units' choices at the start: units that are not evaluated stay at full effort and nothing else."""
    strategy = np.zeros((n_units, len(CHOICES)), dtype=np.float32)
    strategy[:, 0] = 1.0
    strategy[evaluated] = (ev.initial_effort, ev.initial_paperwork, ev.initial_superficial, ev.initial_conceal)
    return strategy


class PeriodRecord:
    """What each unit did during the current evaluation period."""

    FIELDS = ("closures", "resolved", "escalated", "erupted", "sat_sum", "sat_n", "local_sum", "local_n",
              # hotline demands called back in the period, against the unit answerable (sim.mechanisms.hotline)
              "hotline_n", "hotline_responded", "hotline_solved", "hotline_satisfied")

    def __init__(self, n_units: int):
        self.n = n_units
        self.reset()

    def reset(self) -> None:
        for name in self.FIELDS:
            setattr(self, name, np.zeros(self.n))

    def add(self, field: str, units: np.ndarray, values=1.0) -> None:
        if len(units):
            getattr(self, field)[:] += np.bincount(units, weights=np.broadcast_to(values, units.shape),
                                                   minlength=self.n)


def payoffs(rec: PeriodRecord, strategy: np.ndarray, lv: Levers, ev: EvaluationParams) -> np.ndarray:
    """Each unit's payoff for the period just ended."""
    workload = np.maximum(rec.closures + rec.escalated + rec.erupted, 1.0)
    real = rec.resolved / workload
    closure_rate = rec.closures / workload
    sat = np.where(rec.sat_n > 0, rec.sat_sum / np.maximum(rec.sat_n, 1), ev.no_callback_score)
    local = np.where(rec.local_n > 0, rec.local_sum / np.maximum(rec.local_n, 1), ev.no_callback_score)
    traces = np.minimum(strategy[:, 1] / ev.trace_full, 1.0)
    penalty = (rec.escalated + ev.eruption_penalty * rec.erupted) / workload
    score = (lv.w_process * traces + lv.w_closures * closure_rate + lv.w_satisfaction * sat
             + lv.w_local * local - lv.accountability * penalty)
    return ev.intrinsic * real + lv.incentive_strength * score - ev.effort_cost * strategy[:, 0] ** 2


class Learner:
    """Trial-and-error learning of the evaluated units' choices (vectorised over units)."""

    def __init__(self, units: np.ndarray):
        self.units = units
        n = len(units)
        self.baseline = np.full(n, np.nan)
        self.trial_dim = np.full(n, -1, dtype=np.int64)
        self.trial_old = np.zeros(n, dtype=np.float32)

    def update(self, strategy: np.ndarray, payoff_all: np.ndarray, ev: EvaluationParams,
               rng: np.random.Generator) -> None:
        """Keep or revert last period's trial by its perceived payoff, then start the next trial."""
        u = self.units
        pay = payoff_all[u]
        n = len(u)
        has = self.trial_dim >= 0
        perceived = pay + rng.normal(0.0, ev.learning_noise, n)
        worse = has & (perceived < self.baseline)
        strategy[u[worse], self.trial_dim[worse]] = self.trial_old[worse]
        keep = ~worse
        self.baseline[keep] = pay[keep]
        # next trial: one choice, one step up or down (a fair coin)
        dim = rng.integers(0, len(CHOICES), n)
        step = np.where(rng.random(n) < 0.5, -ev.learning_step, ev.learning_step).astype(np.float32)  # lint: fair coin
        old = strategy[u, dim]
        low, high = bounds(ev)
        strategy[u, dim] = np.clip(old + step, low[dim], high[dim])
        self.trial_dim[:] = dim
        self.trial_old[:] = old


class Evaluation(Mechanism):
    name = "evaluation"

    def __init__(self, model):
        super().__init__(model)
        evaluated = model.units.evaluated()
        self.record = PeriodRecord(model.units.n)
        self.learner = Learner(evaluated)
        #: skill multiplier of each community's workers (new hires are less skilled)
        self.community_skill = np.ones(model.territory.n_communities, dtype=np.float32)

    def step(self) -> None:
        m = self.model
        if (m.day + 1) % m.p.evaluation.period == 0:
            self.evaluate()

    def evaluate(self) -> None:
        """Scores and learning; burnout and turnover of community workers; a new period starts."""
        m = self.model
        ev, w = m.p.evaluation, m.p.workforce
        pay = payoffs(self.record, m.strategy, m.levers, ev)
        self.learner.update(m.strategy, pay, ev, m.streams.day("learning", m.day))
        communities = m.communities
        util = Community.utilisation(communities, m.used, m.available)
        m.totals.utilisation.append(float(util.mean()))
        for c, u_c in zip(communities, util, strict=True):
            c.feel_load(u_c, w)
        present, leavers = Community.turnover(communities, m.streams.day("turnover", m.day), w, ev.period)
        years = ev.period / DAYS_PER_YEAR
        m.totals.worker_years += float(present.sum()) * years
        m.totals.workers_left += float(leavers.sum())
        new_share = np.array([c.new_share for c in communities], dtype=np.float32)
        self.community_skill[:] = 1.0 - (1.0 - w.new_worker_skill) * new_share
        m.costs.invalidate()
        self.record.reset()
        m.used[:] = 0.0
        m.available[:] = 0.0
