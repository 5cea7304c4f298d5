"""Evaluation (考核) and the learning rule (MODEL §5).

Every evaluation period each evaluated unit (community, street, department) gets a score
from the period's record, weighted by the scenario's evaluation levers, and a payoff:

    payoff = intrinsic * real_resolution_rate
           + incentive_strength * (w_process * traces + w_closures * closure_rate
                                   + w_satisfaction * callback_satisfaction
                                   + w_local * street_rating - accountability * penalty)
           - effort_cost * effort**2

Units do not know how the payoff depends on their choices; they learn by trial and error
(a noisy hill-climber, "win-stay, lose-shift"): each period they try a small change in one
of their four choices, keep it if the payoff did not fall (as they perceive it, with noise),
and revert it otherwise. Count-based weights therefore invite superficial closure, heavy
accountability invites concealment and process weight pulls time into paperwork, only
where the model's mechanics make those choices pay.
"""

from __future__ import annotations

import numpy as np

from .params import Evaluation, Levers

#: The choices units learn, with their bounds.
CHOICES = ("effort", "paperwork", "superficial", "conceal")
LOWER = np.array([0.2, 0.0, 0.0, 0.0], dtype=np.float32)
UPPER = np.array([1.0, 0.5, 1.0, 1.0], dtype=np.float32)
TRACE_FULL = 0.3  # paperwork share that earns a full process score


class PeriodRecord:
    """What each unit did during the current evaluation period."""

    FIELDS = ("closures", "resolved", "escalated", "erupted", "sat_sum", "sat_n", "local_sum", "local_n")

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


def payoffs(rec: PeriodRecord, strategy: np.ndarray, lv: Levers, ev: Evaluation) -> np.ndarray:
    """Each unit's payoff for the period just ended."""
    workload = np.maximum(rec.closures + rec.escalated + rec.erupted, 1.0)
    real = rec.resolved / workload
    closure_rate = rec.closures / workload
    sat = np.where(rec.sat_n > 0, rec.sat_sum / np.maximum(rec.sat_n, 1), 0.5)
    local = np.where(rec.local_n > 0, rec.local_sum / np.maximum(rec.local_n, 1), 0.5)
    traces = np.minimum(strategy[:, 1] / TRACE_FULL, 1.0)
    penalty = (rec.escalated + 2.0 * rec.erupted) / workload
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

    def update(self, strategy: np.ndarray, payoff_all: np.ndarray, ev: Evaluation,
               rng: np.random.Generator) -> None:
        u = self.units
        pay = payoff_all[u]
        n = len(u)
        has = self.trial_dim >= 0
        perceived = pay + rng.normal(0.0, ev.learning_noise, n)
        worse = has & (perceived < self.baseline)
        rows = u[worse]
        strategy[rows, self.trial_dim[worse]] = self.trial_old[worse]
        keep = ~worse
        self.baseline[keep] = pay[keep]
        # next trial: one choice, one step up or down
        dim = rng.integers(0, len(CHOICES), n)
        step = np.where(rng.random(n) < 0.5, -ev.learning_step, ev.learning_step).astype(np.float32)
        old = strategy[u, dim]
        strategy[u, dim] = np.clip(old + step, LOWER[dim], UPPER[dim])
        self.trial_dim[:] = dim
        self.trial_old[:] = old
