"""Cross-department coordination (MODEL §3.6; ODD §7.11).

A case that needs two or more departments moves only when all of them act. Every
``meeting_interval`` days the party committees (street, then district, then city) convene a
joint meeting (联席会议, each committee's rule is ``PartyCommittee.step``) that unblocks the
highest-severity cases referred to it, as many as its slots allow. Other blocked cases
coordinate spontaneously (more with shared data and clear lists) or are pushed back (推诿,
less with clear lists) and dispatched again; a referral not taken up within
``referral_meetings`` meetings lapses and the departments must coordinate themselves.
"""

from __future__ import annotations

import numpy as np

from ..disputes import Handler, Level, State
from .base import Mechanism
from .information import info_quality


class Coordination(Mechanism):
    name = "coordination"
    counters = ("meeting_cases",)

    def __init__(self, model):
        super().__init__(model)
        self.meeting_pool = np.empty(0, dtype=np.int64)  # referred cases waiting for today's meetings

    def step(self) -> None:
        m = self.model
        if m.day % m.p.handling.meeting_interval == 0:  # the cases waiting for a meeting, found once
            cs = m.table
            idx = cs.open_index()
            self.meeting_pool = idx[(cs.state[idx] == State.ACTIVE) & cs.referred[idx] & ~cs.coordinated[idx]]
        for committee in m.committees:
            committee.step()
        self.coordinate()

    def convene(self, level: Level, index: int, slots: int) -> int:
        """A joint meeting of the committee of territory ``index`` at ``level``: the highest-severity
        referred cases of its territory get every department to act. A street committee takes the
        cases its street whistled for; a district committee its district's; the city committee the
        city's. Returns how many were unblocked."""
        if slots <= 0:
            return 0
        m = self.model
        cs = m.table
        idx = self.meeting_pool
        idx = idx[~cs.coordinated[idx] & (cs.level[idx] == level)]
        if level == Level.STREET:
            waiting = idx[cs.street[idx] == index]
        elif level == Level.DISTRICT:
            waiting = idx[cs.district[idx] == index]
        else:
            waiting = idx
        chosen = waiting[np.argsort(-cs.severity[waiting], kind="stable")[:slots]]
        cs.coordinated[chosen] = True
        cs.referred[chosen] = False
        self.count("meeting_cases", len(chosen))
        return len(chosen)

    def coordinate(self) -> None:
        """Blocked cases the committees did not take: spontaneous coordination or push-back."""
        m = self.model
        cs, h, lv = m.table, m.p.handling, m.levers
        idx = cs.open_index()
        lapsed = idx[cs.referred[idx] & (cs.referred_until[idx] < m.day)]
        cs.referred[lapsed] = False
        blocked = idx[(cs.state[idx] == State.ACTIVE) & (cs.handler[idx] == Handler.DEPARTMENT) & ~cs.coordinated[idx]
                      & ~cs.misrouted[idx] & ~cs.referred[idx] & (cs.wait_until[idx] <= m.day)]
        if len(blocked) == 0:
            return
        rng = m.streams.day("coordination", m.day)
        gain = 1 + h.coordinate_info_gain * info_quality(lv, m.p.workforce) \
            + h.coordinate_clarity_gain * lv.responsibility_clarity
        p_coord = min(1.0, h.p_coordinate * gain)
        p_push = h.p_push_back * (1 - lv.responsibility_clarity)
        u = rng.random(len(blocked))
        cs.coordinated[blocked[u < p_coord]] = True
        push = blocked[(u >= p_coord) & (u < p_coord + p_push)]
        if len(push):  # 推诿: "not ours" — back to the dispatcher, sent again after triage
            cs.bounces[push] += 1
            self.count("bounces", len(push))
            m.mechanisms.routing.dispatch(push, delay=h.triage_days)
