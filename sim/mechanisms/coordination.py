"""Cross-department coordination (MODEL §3.6; ODD §7.11).

A case that needs two or more departments moves only when all of them act. Every
``meeting_interval`` days the party committees (street, then district, then city) convene a
joint meeting (联席会议, each committee's rule is ``PartyCommittee.step``) that unblocks the
highest-severity cases referred to it, as many as its slots allow. Other blocked cases
coordinate spontaneously or are pushed back (推诿) and dispatched again: the odds of
coordination rise with the works_with tie among the case's departments, with their seeing each
other's data (all on the platform) and with clear lists; push-back falls with the tie and with
clear lists (MODEL §12.2); a referral not taken up within
``referral_meetings`` meetings lapses and the departments must coordinate themselves.
"""

from __future__ import annotations

import numpy as np

from ..disputes import Handler, Level, State
from .base import EPS, Mechanism


class Coordination(Mechanism):
    name = "coordination"
    counters = ("meeting_cases", "spontaneous", "push_backs")

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
        m.mechanisms.network.met(chosen, level)  # the departments (and the street) sat together
        return len(chosen)

    def chances(self, blocked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Today's chance that each blocked case's departments coordinate of their own accord, and that
        the holder pushes it back (推诿). Coordination: the odds of ``p_coordinate`` times
        (1 + ``coordinate_clarity_gain`` x clarity), ``coordinate_tie_odds`` ** tie (the mean works_with
        strength among its departments) and ``coordinate_data_odds`` if all of them are on the platform
        (they see each other's data). Push-back: ``p_push_back`` x (1 - clarity) x
        (1 - ``pushback_tie_cut`` x tie)."""
        m = self.model
        h, lv, n, net = m.p.handling, m.levers, m.p.network, m.mechanisms.network
        tie = net.dept_tie(blocked)
        odds = h.p_coordinate / max(1.0 - h.p_coordinate, EPS) * (1.0 + h.coordinate_clarity_gain * lv.responsibility_clarity) \
            * n.coordinate_tie_odds ** tie * np.where(net.depts_share_data(blocked), n.coordinate_data_odds, 1.0)
        p_push = h.p_push_back * (1.0 - lv.responsibility_clarity) * (1.0 - n.pushback_tie_cut * tie)
        return odds / (1.0 + odds), p_push

    def coordinate(self) -> None:
        """Blocked cases the committees did not take: spontaneous coordination or push-back."""
        m = self.model
        cs, h = m.table, m.p.handling
        idx = cs.open_index()
        lapsed = idx[cs.referred[idx] & (cs.referred_until[idx] < m.day)]
        cs.referred[lapsed] = False
        blocked = idx[(cs.state[idx] == State.ACTIVE) & (cs.handler[idx] == Handler.DEPARTMENT) & ~cs.coordinated[idx]
                      & ~cs.misrouted[idx] & ~cs.referred[idx] & (cs.wait_until[idx] <= m.day)]
        if len(blocked) == 0:
            return
        rng = m.streams.day("coordination", m.day)
        p_coord, p_push = self.chances(blocked)
        u = rng.random(len(blocked))
        cs.coordinated[blocked[u < p_coord]] = True
        self.count("spontaneous", int((u < p_coord).sum()))
        push = blocked[(u >= p_coord) & (u < p_coord + p_push)]
        if len(push):  # 推诿: "not ours" — back to the dispatcher, sent again after triage
            cs.bounces[push] += 1
            self.count("bounces", len(push))
            self.count("push_backs", len(push))
            m.mechanisms.routing.dispatch(push, delay=h.triage_days)
