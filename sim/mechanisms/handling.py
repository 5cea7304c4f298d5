"""Handling (MODEL §3.4, §11; ODD §7.7, §7.13): each unit spends today's capacity on its queue.

Priority: with shared data it follows risk (severity), without it first come first served
(waiting time); whistled cases at street level jump the queue by the whistle's power. Each
unit's capacity is allocated to its queue in priority order by one sort and one cumulative
sum. Finished work succeeds with the handler's skill (mediators' skill depends on how
settleable the type is locally and on matured moral education; community workers' on how
many are new), weighted by the parties' trust and helped by information on the case; a
failure is closed superficially with the responsible unit's learned propensity, or moves on.
"""

from __future__ import annotations

import numpy as np

from ..disputes import Handler, Level, State
from .base import EPS, Mechanism
from .information import info_quality
from .routing import TRIED_BIT


class Handling(Mechanism):
    name = "handling"
    counters = ("person_days",)

    def step(self) -> None:
        m = self.model
        cs, lv, h = m.table, m.levers, m.p.handling
        idx = cs.open_index()
        blocked = (cs.handler[idx] == Handler.DEPARTMENT) & ~cs.coordinated[idx]  # waits for coordination
        ok = (cs.state[idx] == State.ACTIVE) & (cs.holder[idx] >= 0) & (cs.wait_until[idx] <= m.day) \
            & ~cs.misrouted[idx] & ~blocked
        work_idx = idx[ok]
        if len(work_idx) == 0:
            return
        q = info_quality(lv, m.p.workforce)
        age = np.minimum((m.day - cs.arrived[work_idx]) / h.age_priority_days, 1.0)
        whistled = cs.whistled[work_idx] & (cs.level[work_idx] == Level.STREET)
        priority = (1 - q) * age + q * cs.severity[work_idx] + lv.whistle_power * whistled
        holder = cs.holder[work_idx]
        order = np.lexsort((-priority, holder))
        w_idx, hold = work_idx[order], holder[order]
        work = cs.work[w_idx].astype(np.float64)
        cum = np.cumsum(work)
        first = np.r_[True, hold[1:] != hold[:-1]]
        group_start = np.maximum.accumulate(np.where(first, np.arange(len(hold)), 0))
        before = cum - work - (cum[group_start] - work[group_start])
        alloc = np.clip(m.capacity[hold] - before, 0.0, work)
        cs.work[w_idx] = (work - alloc).astype(np.float32)
        m.used += np.bincount(hold, weights=alloc, minlength=m.units.n)
        self.count("person_days", float(alloc.sum()))
        done = w_idx[cs.work[w_idx] <= EPS]
        if len(done):
            self.finish(done)

    def skill(self, idx: np.ndarray) -> np.ndarray:
        """Chance each case's handler settles it, before trust and information."""
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
        grass = handler == Handler.COMMUNITY
        skill[grass] *= m.mechanisms.evaluation.community_skill[cs.community[idx[grass]]]
        return skill

    def finish(self, idx: np.ndarray) -> None:
        """Work is done: a real resolution, a superficial closure, or the next handler."""
        m = self.model
        cs, h = m.table, m.p.handling
        closures, routing = m.mechanisms.closures, m.mechanisms.routing
        rng = m.streams.day("handling", m.day)
        trust = m.population.trust[cs.parties[idx, 0]]
        p = self.skill(idx) * (1 - h.trust_weight + h.trust_weight * trust) \
            + h.info_weight * info_quality(m.levers, m.p.workforce)
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
