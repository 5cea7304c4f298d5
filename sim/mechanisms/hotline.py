"""The 12345 hotline (接诉即办) and the measures governments publish, the 三率 (MODEL §12.6; ODD §7.18).

A need a resident brings forward through the hotline (``sim.mechanisms.emergence``) is found the
day it is called in (``Channel.HOTLINE``). The city dispatcher sends it on (派单): a demand that
needs a department goes to the lead department of its district (``routing.dispatch``: without
shared data or clear lists some reach the wrong department and come back, 推诿); any other
demand goes to the street of the caller's community, which settles it, whistles for the
departments or passes it up by the street's own rules (``sim.mechanisms.routing``). The unit it
is sent to is the one the 三率 count against (承办单位).

A demand is *acknowledged* on the first day a unit holds it ready to act (held, not misrouted,
not waiting), or closes it; it is *responded* to if that happens within ``response_days`` of the
call (C12). The hotline calls the caller back when the case closes, or ``callback_days`` after the
call if it is still open: a real resolution is *solved*; a superficial closure is seen through
(unsolved) with chance ``p_superficial_seen``, which costs the parties trust as a discovered
superficial closure does; anything else is unsolved. The caller says *satisfied* with a chance
equal to their satisfaction with what they got (a superficial closure taken for solved is
judged as a resolution of the same speed). Each callback is counted in the day's flows (the
30-day rolling 三率 of ``timeseries.parquet``), in the case's own columns (the summary's rates
over the demands filed) and in the answerable unit's evaluation record (``hotline_*``, which the
monthly ranking of ``ranking_pressure`` reads).
"""

from __future__ import annotations

import numpy as np

from ..disputes import Channel, Level, State
from .base import Mechanism


class Hotline(Mechanism):
    name = "hotline"
    counters = ("hotline_filed", "hotline_callbacks", "hotline_responded", "hotline_solved", "hotline_satisfied",
                "hotline_caught")

    def __init__(self, model):
        super().__init__(model)
        self.pending = np.zeros(0, dtype=np.int64)  # hotline cases not yet called back

    def step(self) -> None:
        self.dispatch()
        self.acknowledge()
        self.call_back()

    def dispatch(self) -> None:
        """派单: today's hotline demands go to their district's lead department or to their street."""
        m = self.model
        cs, hp = m.table, m.p.hotline
        idx = cs.open_index()
        new = idx[(cs.channel[idx] == Channel.HOTLINE) & (cs.detected[idx] == m.day) & (cs.hl_unit[idx] < 0)]
        if len(new) == 0:
            return
        self.count("hotline_filed", len(new))
        self.pending = np.concatenate([self.pending, new])
        dept = new[cs.needs_dept[new]]
        cs.level[dept] = Level.DISTRICT
        cs.visited[dept] = 1 << Level.DISTRICT
        cs.arrived[dept] = m.day
        m.mechanisms.routing.dispatch(dept, delay=hp.dispatch_days, dispatcher=m.units.city_unit)  # the 12345 centre
        cs.hl_unit[dept] = cs.holder[dept]
        street = new[~cs.needs_dept[new]]
        cs.level[street] = Level.STREET
        cs.visited[street] = 1 << Level.STREET
        cs.arrived[street] = m.day
        cs.wait_until[street] = m.day + hp.dispatch_days  # then the street places it (routing)
        cs.hl_unit[street] = m.units.street_unit(cs.street[street])

    def acknowledge(self) -> None:
        """A pending demand is acknowledged the first day a unit holds it ready to act, or closes it.
        While it is open, the unit answerable for it follows it to the unit that holds it ready."""
        m = self.model
        cs = m.table
        p = self.pending
        if len(p) == 0:
            return
        state = cs.state[p]
        ready = (state == State.ACTIVE) & (cs.holder[p] >= 0) & ~cs.misrouted[p] & (cs.wait_until[p] <= m.day)
        held = p[ready]
        cs.hl_unit[held] = m.units.responsible(cs, held)
        closed = (state == State.RESOLVED) | (state == State.SUPERFICIAL)
        ack = p[(ready | closed) & (cs.hl_ack[p] < 0)]
        day = np.where(cs.closed[ack] >= 0, cs.closed[ack], m.day)  # a closure is an acknowledgement on its day
        cs.hl_ack[ack] = day
        cs.hl_responded[ack] = day - cs.detected[ack] <= m.p.hotline.response_days

    def call_back(self) -> None:
        """Callbacks on closed demands and on those open for ``callback_days``: solved? satisfied?"""
        m = self.model
        cs, hp = m.table, m.p.hotline
        p = self.pending
        if len(p) == 0:
            return
        due_mask = (cs.state[p] > State.ACTIVE) | (m.day - cs.detected[p] >= hp.callback_days)
        due = p[due_mask]
        self.pending = p[~due_mask]
        if len(due) == 0:
            return
        rng = m.streams.day("callbacks", m.day)
        u = rng.random((2, len(due)))
        state = cs.state[due]
        superficial = state == State.SUPERFICIAL
        caught = superficial & (u[0] < hp.p_superficial_seen)
        solved = (state == State.RESOLVED) | (superficial & ~caught)
        sat = np.where(state <= State.ACTIVE, hp.sat_open, np.nan_to_num(cs.satisfaction[due]))
        fooled = superficial & ~caught  # judged as a resolution of the same speed
        if fooled.any():
            sat[fooled] = m.mechanisms.closures.satisfaction(due[fooled], State.RESOLVED)
        satisfied = u[1] < sat
        cs.hl_callback[due] = m.day
        cs.hl_solved[due] = solved
        cs.hl_satisfied[due] = satisfied
        responded = cs.hl_responded[due]
        unit = cs.hl_unit[due]
        record = m.mechanisms.evaluation.record
        record.add("hotline_n", unit)
        record.add("hotline_responded", unit[responded])
        record.add("hotline_solved", unit[solved])
        record.add("hotline_satisfied", unit[satisfied])
        self.count("hotline_callbacks", len(due))
        self.count("hotline_responded", int(responded.sum()))
        self.count("hotline_solved", int(solved.sum()))
        self.count("hotline_satisfied", int(satisfied.sum()))
        self.count("hotline_caught", int(caught.sum()))
        m.mechanisms.closures.discovered(due[caught])
