"""Closures (MODEL §3.7, §4; ODD §7.13-§7.14): how cases end and what the parties make of it.

Every closure sets the parties' satisfaction: high for a quick real resolution, less the
slower it was and the more often it was passed on; low for a superficial closure; nothing for
an eruption; low for parties who gave up (faded cases are judged by nobody). Closures are
counted in the evaluation record of the unit that closed the case (its ``closer``), with the
satisfaction callbacks (``Evaluation.record_closures``). Each day parties may give up an open case
(more when they distrust the system), superficial closures may reopen, worse, counting against
their closer, and the parties
of today's outcomes judge them: their trust moves towards their satisfaction, a real
resolution relieves grievance, and their neighbours take part of that judgement (word of mouth);
the neighbours of an eruption's parties lose trust. A superficial closure discovered (reopened,
or seen through at a hotline callback) costs its parties trust and adds to their grievance.
"""

from __future__ import annotations

import numpy as np

from ..disputes import Level, State
from ..metrics import OUTCOME_COUNTER
from .base import Mechanism


class Closures(Mechanism):
    name = "closures"
    counters = ("resolved", "closed_superficially", "erupted", "withdrawn", "reopened", "outcomes",
                "outcomes_resolved", "satisfaction_sum", "dept_outcomes", "dept_resolved", "dept_satisfaction_sum")

    def __init__(self, model):
        super().__init__(model)
        self.closed_today: list[np.ndarray] = []  # cases with an outcome someone judges, closed today

    def step(self) -> None:
        self.give_up()
        self.reopen()
        self.judge()
        self.closed_today = []

    def satisfaction(self, idx: np.ndarray, state: State) -> np.ndarray:
        """The parties' satisfaction with the outcome ``state`` of each case (nan: judged by nobody)."""
        m = self.model
        cs, r = m.table, m.p.residents
        if state == State.RESOLVED:
            days = m.day - np.maximum(cs.detected[idx], cs.created[idx])
            steps = cs.escalations[idx] + cs.bounces[idx]
            sat = r.sat_resolved - r.sat_slow * np.minimum(days / r.sat_slow_days, 1.0) - r.sat_per_step * steps
            return np.clip(sat, r.sat_min, 1.0)
        if state == State.SUPERFICIAL:
            return np.full(len(idx), r.sat_superficial)
        if state == State.ERUPTED:
            return np.zeros(len(idx))
        return np.where(cs.detected[idx] >= 0, r.sat_withdrawn, np.nan)  # faded cases are judged by nobody

    def close(self, idx: np.ndarray, state: State) -> None:
        """The cases end in ``state``: satisfaction, the responsible unit's record, today's counts."""
        if len(idx) == 0:
            return
        m = self.model
        cs = m.table
        responsible = m.units.responsible(cs, idx)
        cs.state[idx] = state
        cs.closed[idx] = m.day
        cs.outcome_level[idx] = cs.level[idx]
        cs.outcome_handler[idx] = cs.handler[idx]
        sat = self.satisfaction(idx, state)
        cs.satisfaction[idx] = sat
        cs.street_out[idx] = -1
        if state == State.RESOLVED:  # settled jointly: the working ties of those who settled it grow
            m.mechanisms.network.settled(idx)
        if state in (State.RESOLVED, State.SUPERFICIAL):  # counted for the closer, callbacks (evaluation)
            m.mechanisms.evaluation.record_closures(idx, state, sat, responsible)
        counted = ~np.isnan(sat)
        self.count(OUTCOME_COUNTER[state], len(idx))
        if counted.any():
            c = idx[counted]
            dept = cs.needs_dept[c]
            self.count("outcomes", len(c))
            self.count("satisfaction_sum", float(sat[counted].sum()))
            self.count("dept_outcomes", int(dept.sum()))
            self.count("dept_satisfaction_sum", float(sat[counted][dept].sum()))
            if state == State.RESOLVED:
                self.count("outcomes_resolved", len(c))
                self.count("dept_resolved", int(dept.sum()))
            self.closed_today.append(c)
        cs.release(idx)

    def give_up(self) -> None:
        """Parties give up open cases, more when they distrust the system."""
        m = self.model
        cs = m.table
        idx = cs.open_index()
        act = idx[cs.state[idx] == State.ACTIVE]
        distrust = 1.0 - m.population.trust[cs.parties[act, 0]]
        give_up = m.streams.day("withdrawal", m.day).random(len(act)) < m.p.lifecycle.p_withdraw * distrust
        self.close(act[give_up], State.WITHDRAWN)

    def reopen(self) -> None:
        """Superficial closures may come back within the window, worse, to the grassroots."""
        m = self.model
        cs, L = m.table, m.p.lifecycle
        rng = m.streams.day("reopening", m.day)
        n = cs.n
        since = m.day - cs.closed[:n]
        sup = np.flatnonzero((cs.state[:n] == State.SUPERFICIAL) & (since > 0) & (since <= L.reopen_window))
        back = sup[rng.random(len(sup)) < L.p_reopen]
        if len(back) == 0:
            return
        cs.state[back] = State.ACTIVE
        cs.closed[back] = -1
        cs.satisfaction[back] = np.nan
        cs.outcome_level[back] = -1
        cs.outcome_handler[back] = -1
        cs.reopened[back] += 1
        m.mechanisms.evaluation.blame_reopenings(back)  # against the unit that closed it
        cs.severity[back] = np.minimum(cs.severity[back] + L.reopen_severity, 1.0)
        cs.level[back] = Level.GRASSROOTS
        cs.tried[back] = 0
        cs.arrived[back] = m.day
        cs.release(back)
        cs.wait_until[back] = m.day + 1
        self.count("reopened", len(back))
        self.discovered(back)

    def discovered(self, idx: np.ndarray) -> None:
        """A superficial closure is discovered (it reopened, or a hotline callback saw through it): its
        parties lose ``trust_discovered`` of their trust and grow aggrieved (MODEL §12.5)."""
        if len(idx) == 0:
            return
        m = self.model
        r = m.p.residents
        parties = m.table.parties[idx]
        who = parties[parties >= 0]
        m.population.lose_trust(who, r.trust_discovered)
        m.population.add_grievance(who, r.grievance_discovered)

    def judge(self) -> None:
        """Parties judge today's outcomes; their neighbours take part of that judgement (word of mouth)."""
        if not self.closed_today:
            return
        m = self.model
        cs = m.table
        idx = np.concatenate(self.closed_today)
        m.population.judge(cs.parties[idx], cs.satisfaction[idx].astype(np.float32),
                           cs.state[idx] == State.RESOLVED, m.p.residents, erupted=cs.state[idx] == State.ERUPTED)
