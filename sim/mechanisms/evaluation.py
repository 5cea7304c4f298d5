"""Evaluation (考核), learning and the workforce (MODEL §5, §12.3, §12.4; ODD §7.15-§7.16).

Every evaluation period each evaluated unit (community, street, department) gets a score
from the period's record, weighted by the scenario's evaluation levers, and a payoff:

    payoff = intrinsic * real_resolution_rate
           + incentive_strength * (w_process * traces + w_closures * closure_rate
                                   + w_satisfaction * callback_score
                                   + w_local * street_rating - accountability * penalty)
           + ranking_pressure * mean(hotline responded, solved, satisfied rates)
           - effort_cost * effort**2

where traces = min(paperwork / trace_full, 1), penalty = (escalations + eruption_penalty x
eruptions + exposure_penalty x concealments found out + reopenings) / workload, the workload is the cases the unit closed, passed up or let
erupt in the period plus the open cases it answers for at the period's end (办结率 counts what a
unit received, not only what it finished: a case left waiting, or concealed (压案), stays on its
books), and the callback score is the mean satisfaction the
callbacks record (a superficial closure a callback does not catch is recorded as a resolution).

What counts against whom (attribution): a closure, its callback and a later reopening count for
and against the unit that closed the case (``closer``); a failure or a missed deadline against
the responsible unit; a case passed up because its level lacks the authority against the unit
of that level (community or street) with weight ``territory_blame``; an eruption against the
responsible unit and, with weight ``territory_blame``, against the case's community and street
where they are not that unit (权小责大: answerable for the territory without the authority); a
case a unit concealed answers to that unit until it moves up (``Units.responsible``).

Learning, every period, by two rules (vectorised over units):
1. own trial and error ("win-stay, lose-shift"): a unit keeps last period's trial change if its
   perceived payoff (with noise ``learning_noise``) did not fall, else reverts it; then it tries
   a step of ``learning_step`` up or down in one of its four choices;
2. imitation of better-scoring peers (social learning, Bevan & Hood 2006): with chance
   ``imitation_rate`` a unit looks at a random peer of its kind (community, street, department)
   and copies all its choices with chance ``imitation_gain`` x (peer's payoff - its own), clipped
   to [0, 1] (proportional imitation, Schlag 1998: the population's mean choices then follow the
   replicator dynamics of the payoff, and payoff noise that is not correlated with the choices
   averages out over units instead of swamping a single unit's comparison). A unit that copies
   skips its own trial for the period.

At the same time every staffed evaluated unit's utilisation over the period drives its burnout
and burnout its turnover (``sim.actors.Staffing``); new hires are less skilled for a year.
"""

from __future__ import annotations

import numpy as np

from ..actors import Staffing
from ..disputes import Handler, Level, State
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
    """What each unit did during the current evaluation period. ``hotline_*``: the 12345 demands
    whose callback fell in the period, counted against the responsible unit (the hotline stage)."""

    FIELDS = ("closures", "resolved", "escalated", "erupted", "exposed", "held", "reopened", "sat_sum", "sat_n", "local_sum",
              "local_n", "hotline_n", "hotline_responded", "hotline_solved", "hotline_satisfied")

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
    workload = np.maximum(rec.closures + rec.escalated + rec.erupted + rec.held, 1.0)
    real = rec.resolved / workload
    closure_rate = rec.closures / workload
    sat = np.where(rec.sat_n > 0, rec.sat_sum / np.maximum(rec.sat_n, 1), ev.no_callback_score)
    local = np.where(rec.local_n > 0, rec.local_sum / np.maximum(rec.local_n, 1), ev.no_callback_score)
    traces = np.minimum(strategy[:, 1] / ev.trace_full, 1.0)
    penalty = (rec.escalated + ev.eruption_penalty * rec.erupted + ev.exposure_penalty * rec.exposed
               + rec.reopened) / workload
    score = (lv.w_process * traces + lv.w_closures * closure_rate + lv.w_satisfaction * sat
             + lv.w_local * local - lv.accountability * penalty)
    calls = np.maximum(rec.hotline_n, 1)
    ranking = np.where(rec.hotline_n > 0, (rec.hotline_responded + rec.hotline_solved + rec.hotline_satisfied)
                       / (3 * calls), ev.no_callback_score)
    return (ev.intrinsic * real + lv.incentive_strength * score + lv.ranking_pressure * ranking
            - ev.effort_cost * strategy[:, 0] ** 2)


class Learner:
    """Trial and error plus imitation of better-scoring peers of the same kind (vectorised over units).

    Args:
        units: the learning units' indices.
        kinds: each learning unit's kind (peers are of the same kind); one kind if None.
        window: periods a trial runs before it is judged, and over which peers are compared
            (``evaluation.trial_periods``; 1 is judging period by period).
    """

    def __init__(self, units: np.ndarray, kinds: np.ndarray | None = None, window: int = 1):
        self.units = units
        n = len(units)
        kinds = np.zeros(n, dtype=np.int64) if kinds is None else np.asarray(kinds)
        self.groups = [np.flatnonzero(kinds == k) for k in np.unique(kinds)]
        self.window = int(window)
        self.baseline = np.full(n, np.nan)
        self.trial_dim = np.full(n, -1, dtype=np.int64)
        self.trial_old = np.zeros(n, dtype=np.float32)
        self.trial_sum = np.zeros(n)      # payoffs of the periods the current choices have run...
        self.trial_periods = np.zeros(n, dtype=np.int64)  # ...and how many
        self.recent = np.full((n, self.window), np.nan)  # the last ``window`` payoffs (a ring)
        self.periods = 0
        self.copied = np.zeros(n, dtype=bool)  # who copied a peer in the last update

    def peers(self, rng: np.random.Generator) -> np.ndarray:
        """A random peer of the same kind for every learner (possibly itself)."""
        peer = np.empty(len(self.units), dtype=np.int64)
        for group in self.groups:
            peer[group] = group[rng.integers(0, len(group), len(group))]
        return peer

    def update(self, strategy: np.ndarray, payoff_all: np.ndarray, ev: EvaluationParams,
               rng: np.random.Generator) -> None:
        """Imitate better peers; once the current choices have run ``window`` periods, keep or revert
        the trial by its mean perceived payoff over them and start the next trial. Peers are compared
        by their mean payoff over the last ``window`` periods."""
        u = self.units
        pay = payoff_all[u]
        n = len(u)
        played = strategy[u].copy()  # the choices that earned this period's payoffs
        self.recent[:, self.periods % self.window] = pay
        self.periods += 1
        standing = np.nanmean(self.recent, axis=1)
        self.trial_sum += pay
        self.trial_periods += 1
        # own trial and error: once the choices have run their window, keep or revert
        due = self.trial_periods >= self.window
        mean = self.trial_sum / np.maximum(self.trial_periods, 1)
        has = due & (self.trial_dim >= 0)
        perceived = mean + rng.normal(0.0, ev.learning_noise, n)
        worse = has & (perceived < self.baseline)
        strategy[u[worse], self.trial_dim[worse]] = self.trial_old[worse]
        keep = due & ~worse
        self.baseline[keep] = mean[keep]
        # imitation: copy a better-scoring peer's choices with a chance proportional to the difference
        peer = self.peers(rng)
        looks = rng.random(n) < ev.imitation_rate
        p_copy = np.clip(ev.imitation_gain * (standing[peer] - standing), 0.0, 1.0)
        copy = looks & (rng.random(n) < p_copy) & (peer != np.arange(n))
        strategy[u[copy]] = played[peer[copy]]
        self.baseline[copy] = np.nan  # the copied choices' own payoff is seen over the next window
        self.copied = copy
        # next trial (for those whose window ended, not for those who just copied): one choice, one
        # step up or down (a fair coin)
        dim = rng.integers(0, len(CHOICES), n)
        step = np.where(rng.random(n) < 0.5, -ev.learning_step, ev.learning_step).astype(np.float32)  # lint: fair coin
        trial = due & ~copy
        old = strategy[u, dim]
        low, high = bounds(ev)
        new = np.clip(old + step, low[dim], high[dim])
        strategy[u[trial], dim[trial]] = new[trial]
        restart = due | copy
        self.trial_dim[restart] = np.where(trial, dim, -1)[restart]
        self.trial_old[restart] = old[restart]
        self.trial_sum[restart] = 0.0
        self.trial_periods[restart] = 0


class Evaluation(Mechanism):
    name = "evaluation"

    def __init__(self, model):
        super().__init__(model)
        evaluated = model.units.evaluated()
        self.record = PeriodRecord(model.units.n)
        self.learner = Learner(evaluated, model.units.kind[evaluated], model.p.evaluation.trial_periods)

    def step(self) -> None:
        m = self.model
        if (m.day - m.day0 + 1) % m.p.evaluation.period == 0:  # periods end with the burn-in (reported days)
            self.evaluate()

    # ------------------------------------------------------------------------------------------
    # what counts against whom
    # ------------------------------------------------------------------------------------------

    def record_closures(self, idx: np.ndarray, state: State, sat: np.ndarray, closer: np.ndarray) -> None:
        """Closures (resolved or superficial) count for ``closer``; a share ``callback_share`` gets a
        satisfaction callback, which records the parties' satisfaction, except that a superficial
        closure the callback does not catch (chance 1 - ``callback_catch``) is recorded as if resolved."""
        m = self.model
        cs, ev, rec = m.table, m.p.evaluation, self.record
        cs.closer[idx] = closer
        rec.add("closures", closer)
        if state == State.RESOLVED:
            rec.add("resolved", closer)
            recorded = sat
        else:
            as_resolved = m.mechanisms.closures.satisfaction(idx, State.RESOLVED)
            caught = m.streams.day("callbacks", m.day).random(len(idx)) < ev.callback_catch
            recorded = np.where(caught, sat, as_resolved)
        called = m.streams.day("callbacks", m.day).random(len(idx)) < ev.callback_share
        rec.add("sat_sum", closer[called], recorded[called])
        rec.add("sat_n", closer[called])
        whistled = cs.whistled[idx] & (cs.level[idx] == Level.STREET)  # the street rates the departments
        rec.add("local_sum", closer[whistled], sat[whistled])
        rec.add("local_n", closer[whistled])

    def blame_escalations(self, idx: np.ndarray, penalise: bool) -> None:
        """Escalations count against the responsible unit: in full after a failure or a missed deadline
        (``penalise``), with weight ``territory_blame`` when the level lacked the authority (权小责大)."""
        m = self.model
        weight = 1.0 if penalise else m.p.evaluation.territory_blame
        if weight > 0:
            self.record.add("escalated", m.units.responsible(m.table, idx), weight)

    def blame_eruptions(self, idx: np.ndarray) -> None:
        """An eruption counts against the responsible unit, and with weight ``territory_blame`` against
        the case's community and street where they are not that unit (属地管理)."""
        if len(idx) == 0:
            return
        m = self.model
        cs, u = m.table, m.units
        resp = u.responsible(cs, idx)
        self.record.add("erupted", resp)
        weight = m.p.evaluation.territory_blame
        if weight > 0:
            for territorial in (u.community_unit(cs.community[idx]), u.street_unit(cs.street[idx])):
                other = territorial != resp
                self.record.add("erupted", territorial[other], weight)

    def blame_exposed(self, idx: np.ndarray) -> None:
        """A concealment found out counts against the unit that hid the case (the unit of its level)."""
        m = self.model
        self.record.add("exposed", m.units.responsible(m.table, idx))

    def blame_reopenings(self, idx: np.ndarray) -> None:
        """A superficial closure that reopens counts against the unit that closed it."""
        closer = self.model.table.closer[idx]
        self.record.add("reopened", closer[closer >= 0])

    # ------------------------------------------------------------------------------------------
    # the period's end
    # ------------------------------------------------------------------------------------------

    def evaluate(self) -> None:
        """Scores and learning; burnout and turnover of every staffed evaluated unit; a new period."""
        m = self.model
        ev = m.p.evaluation
        cs = m.table
        idx = cs.open_index()
        idx = idx[cs.state[idx] == State.ACTIVE]
        self.record.add("held", m.units.responsible(cs, idx))  # still on the books
        pay = payoffs(self.record, m.strategy, m.levers, ev)
        self.learner.update(m.strategy, pay, ev, m.streams.day("learning", m.day))
        self.workforce()
        m.costs.invalidate()
        self.record.reset()
        m.used[:] = 0.0
        m.available[:] = 0.0

    def workforce(self) -> None:
        """Burnout and turnover of communities', streets' and departments' staff, in bulk."""
        m = self.model
        ev, w, st = m.p.evaluation, m.p.workforce, m.staffing
        agents = (*m.communities, *m.streets, *m.departments)
        unit = np.array([a.unit for a in agents])
        staff = np.array([a.own_staff for a in agents])
        community = m.units.kind[unit] == Handler.COMMUNITY
        util = Staffing.utilisation(st.fixed_share[unit], m.used[unit], m.available[unit])
        m.totals.utilisation.append(float(util[community].mean()))
        st.burnout[unit] = Staffing.feel_load(st.burnout[unit], util, w)
        base = np.where(community, w.turnover_base, w.staff_turnover_base)
        present, leavers, vac, new = Staffing.turnover(staff, st.vacancies[unit], st.burnout[unit],
                                                       st.new_share[unit], base,
                                                       m.streams.day("turnover", m.day), w, ev.period)
        st.vacancies[unit], st.new_share[unit] = vac, new
        st.left_total[unit] += leavers
        years = ev.period / DAYS_PER_YEAR
        m.totals.worker_years += float(present[community].sum()) * years
        m.totals.workers_left += float(leavers[community].sum())
        m.totals.staff_years += float(present[~community].sum()) * years
        m.totals.staff_left += float(leavers[~community].sum())
        st.skill[:] = st.skill_of(w)
