"""Deadlines and concealment (MODEL §3.5, §5, §12.3; ODD §7.12): a case held past its level's
time limit goes up (矛盾上交), unless the responsible unit conceals it (with its learned
propensity): then it is held past the limit and keeps brewing. At city level an overdue case
becomes backlog (积案).

Concealment (压案不报) is also open to a unit about to send a case up for any other reason, a
failure or a lack of authority (``Deadlines.hold_back``, called by ``Routing.escalate``): with its
propensity it keeps the case at its level, unreported, for another time limit, after which the
case is placed again (and tried again where someone may), brewing all the while. Until then it
may be found out (``Deadlines.expose``): an inspection, or its parties calling 12345 where the
hotline reaches them, sends it up at once, against the unit that hid it.
"""

from __future__ import annotations

import numpy as np

from ..disputes import Level, State
from .base import Mechanism


def time_limits(h) -> np.ndarray:
    """Days a case may stay at each level (community, street, district; city: until it is backlog)."""
    return np.array([h.deadline_community, h.deadline_street, h.deadline_district, h.backlog_days])


class Deadlines(Mechanism):
    name = "deadlines"
    counters = ("exposed",)

    def step(self) -> None:
        m = self.model
        cs, h = m.table, m.p.handling
        idx = cs.open_index()
        self.expose(idx)
        act = idx[cs.state[idx] == State.ACTIVE]
        limit = time_limits(h)[cs.level[act]]
        over = act[m.day - cs.arrived[act] > limit]
        top = cs.level[over] == Level.CITY
        cs.backlog[over[top]] = True
        over = over[~top]
        if len(over) == 0:
            return
        hide = self.conceals(over)
        held = over[hide]
        cs.concealed[held] += 1
        cs.arrived[held] = m.day
        m.mechanisms.routing.escalate(over[~hide], conceal=False)

    def expose(self, idx: np.ndarray) -> None:
        """A concealed case that nobody works on may be found out today: by an inspection
        (``p_exposed_inspection``) or because its first party, if the 12345 hotline reaches them, calls
        it in (``p_exposed_hotline``). It goes up at once as a failure of the unit that concealed it,
        which answers for the concealment too (``Evaluation.blame_exposed``). ``idx``: the open cases."""
        m = self.model
        cs, h = m.table, m.p.handling
        hidden = idx[(cs.state[idx] == State.ACTIVE) & (cs.hidden_until[idx] > m.day)]
        if len(hidden) == 0:
            return
        reached = m.population.reach_u[cs.parties[hidden, 0]] < m.levers.hotline_reach
        keep = (1.0 - h.p_exposed_inspection) * np.where(reached, 1.0 - h.p_exposed_hotline, 1.0)
        found = hidden[m.streams.day("exposure", m.day).random(len(hidden)) >= keep]
        if len(found) == 0:
            return
        cs.hidden_until[found] = -1
        cs.wait_until[found] = m.day
        m.mechanisms.evaluation.blame_exposed(found)
        self.count("exposed", len(found))
        m.mechanisms.routing.escalate(found, conceal=False)

    def conceals(self, idx: np.ndarray) -> np.ndarray:
        """Whether the answerable unit conceals each case (its learned propensity; stream ``deadlines``)."""
        m = self.model
        rng = m.streams.day("deadlines", m.day)
        return rng.random(len(idx)) < m.conceal[m.units.responsible(m.table, idx)]

    def hold_back(self, idx: np.ndarray) -> np.ndarray:
        """Cases about to go up: the answerable unit conceals some below city level (压案). A concealed
        case is released, counted as concealed, and waits unreported at its level for that level's
        time limit. Returns the cases that go up."""
        m = self.model
        cs = m.table
        below = cs.level[idx] < Level.CITY
        hide = np.zeros(len(idx), dtype=bool)
        if below.any():
            hide[below] = self.conceals(idx[below])
        held = idx[hide]
        if len(held):
            cs.concealer[held] = m.units.responsible(cs, held)  # before release: the holder answers
            cs.release(held)
            cs.concealed[held] += 1
            cs.arrived[held] = m.day
            cs.wait_until[held] = m.day + time_limits(m.p.handling)[cs.level[held]]
            cs.hidden_until[held] = cs.wait_until[held]
        return idx[~hide]
