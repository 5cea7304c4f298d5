"""Handling (MODEL §3.4, §11, §12.3, §12.4; ODD §7.7, §7.13): each unit rations today's capacity.

Triage: every handler works its queue in order of severity plus deadline urgency (the share of
its level's time limit already used, weighted by ``deadline_priority``); cases a street whistled
for jump its queue by the whistle's power. Each unit's capacity is allocated in that order by one
sort and one cumulative sum.

Rushed work: a handler whose workable queue exceeds ``overload_days`` days of its capacity plans
to clear it within ``overload_days``: it gives each case only the share ``overload_days /
queue_days`` (at least ``min_work_share``) of the work the case still needs, and calls the case
done when that is spent. Shortcuts: when a handler first works on a case it decides, with the
responsible unit's learned superficial propensity, to close it superficially after only
``superficial_work`` of its needed work (走过场). Finished work succeeds with the handler's skill
(mediators' skill depends on how settleable the type is locally and on matured moral education;
staffed units' on how many of their staff are new), weighted by the parties' trust, times
(share of the needed work done) ** ``rush_exponent``; a failure is closed superficially with the
responsible unit's propensity, or moves on.
"""

from __future__ import annotations

import numpy as np

from ..disputes import Handler, Level, State
from .base import EPS, Mechanism
from .deadlines import time_limits
from .routing import TRIED_BIT


class Handling(Mechanism):
    name = "handling"
    counters = ("person_days", "finished", "rushed", "shortcuts")

    def step(self) -> None:
        m = self.model
        cs, lv, ov = m.table, m.levers, m.p.overload
        idx = cs.open_index()
        blocked = (cs.handler[idx] == Handler.DEPARTMENT) & ~cs.coordinated[idx]  # waits for coordination
        ok = (cs.state[idx] == State.ACTIVE) & (cs.holder[idx] >= 0) & (cs.wait_until[idx] <= m.day) \
            & ~cs.misrouted[idx] & ~blocked
        work_idx = idx[ok]
        if len(work_idx) == 0:
            return
        self.plan(work_idx)
        # triage: severity and deadline urgency; whistled street cases jump the queue
        limit = time_limits(m.p.handling)[cs.level[work_idx]]
        urgency = np.clip((m.day - cs.arrived[work_idx]) / limit, 0.0, 1.0)
        whistled = cs.whistled[work_idx] & (cs.level[work_idx] == Level.STREET)
        priority = cs.severity[work_idx] + ov.deadline_priority * urgency + lv.whistle_power * whistled
        holder = cs.holder[work_idx]
        order = np.lexsort((-priority, holder))
        w_idx, hold = work_idx[order], holder[order]
        left = cs.work[w_idx].astype(np.float64)
        planned = self.planned(w_idx, hold, left)
        cum = np.cumsum(planned)
        first = np.r_[True, hold[1:] != hold[:-1]]
        group_start = np.maximum.accumulate(np.where(first, np.arange(len(hold)), 0))
        before = cum - planned - (cum[group_start] - planned[group_start])
        cap = m.capacity[hold].astype(np.float64)
        alloc = np.clip(cap - before, 0.0, planned)
        cs.work[w_idx] = np.maximum(left - alloc, 0.0).astype(np.float32)
        m.used += np.bincount(hold, weights=alloc, minlength=m.units.n)
        self.count("person_days", float(alloc.sum()))
        done = w_idx[(cap > 0) & (alloc >= planned - EPS)]
        if len(done):
            self.finish(done)

    def plan(self, idx: np.ndarray) -> None:
        """Cases a handler works on for the first time: real work, or a shortcut with the responsible
        unit's superficial propensity."""
        m = self.model
        cs = m.table
        new = idx[cs.shortcut[idx] < 0]
        if len(new) == 0:
            return
        rng = m.streams.day("shortcuts", m.day)
        short = rng.random(len(new)) < m.superficial[m.units.responsible(cs, new)]
        cs.shortcut[new] = short.astype(np.int8)

    def planned(self, idx: np.ndarray, holder: np.ndarray, left: np.ndarray) -> np.ndarray:
        """Work each case gets before its handler calls it done (person-days): what it still needs, cut
        to ``overload_days / queue_days`` of it when the handler is overloaded, and to what is left of
        ``superficial_work`` of its need when the handler takes a shortcut."""
        m = self.model
        cs, ov = m.table, m.p.overload
        queue_days = np.bincount(holder, weights=left, minlength=m.units.n) / np.maximum(m.capacity, EPS)
        rush = np.clip(ov.overload_days / np.maximum(queue_days, EPS), ov.min_work_share, 1.0)
        planned = left * rush[holder]
        need = cs.work_need[idx].astype(np.float64)
        short = cs.shortcut[idx] == 1
        shortcut_left = np.maximum(ov.superficial_work * need - (need - left), 0.0)
        return np.where(short, np.minimum(planned, shortcut_left), planned)

    def skill(self, idx: np.ndarray) -> np.ndarray:
        """Chance each case's handler settles it with full work, before trust."""
        m = self.model
        cs, h = m.table, m.p.handling
        handler = cs.handler[idx]
        local = m.types["local"][cs.type[idx]]
        table = np.array([h.skill_self, h.skill_social_org, h.skill_community, h.skill_street,
                          h.skill_district, h.skill_city, h.skill_department], dtype=np.float32)
        skill = table[handler]
        mediation = handler <= Handler.SOCIAL_ORG
        moral = m.mechanisms.emergence.moral
        skill = np.where(mediation, skill * local * (1 + h.moral_acceptance * moral), skill)
        return skill * m.staffing.skill[cs.holder[idx]]  # new staff are less skilled

    def finish(self, idx: np.ndarray) -> None:
        """The handler calls the work done: a shortcut is closed superficially; other work succeeds with
        a chance that falls with the share of the needed work left undone; a failure is closed
        superficially, or the case moves on."""
        m = self.model
        cs, h, ov = m.table, m.p.handling, m.p.overload
        closures, routing = m.mechanisms.closures, m.mechanisms.routing
        need = cs.work_need[idx]
        share = np.clip(1.0 - cs.work[idx] / np.maximum(need, EPS), 0.0, 1.0)
        short = cs.shortcut[idx] == 1
        self.count("shortcuts", int(short.sum()))
        closures.close(idx[short], State.SUPERFICIAL)
        idx, share = idx[~short], share[~short]
        self.count("finished", len(idx))
        self.count("rushed", int((share < 1.0 - EPS).sum()))  # real work done with less than it needs
        rng = m.streams.day("handling", m.day)
        trust = m.population.trust[cs.parties[idx, 0]]
        p = self.skill(idx) * (1 - h.trust_weight + h.trust_weight * trust) * share ** ov.rush_exponent
        u = rng.random((2, len(idx)))
        success = u[0] < np.clip(p, 0.0, h.max_success)
        closures.close(idx[success], State.RESOLVED)
        failed = idx[~success]
        resp = m.units.responsible(cs, failed)
        shallow = u[1][~success] < m.superficial[resp]
        closures.close(failed[shallow], State.SUPERFICIAL)
        moving = failed[~shallow]
        grass = moving[cs.level[moving] == Level.GRASSROOTS]
        for handler, bit in TRIED_BIT.items():
            cs.tried[grass[cs.handler[grass] == handler]] |= bit
        cs.release(grass)
        routing.escalate(moving[cs.level[moving] != Level.GRASSROOTS])
