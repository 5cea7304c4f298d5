"""Routing (MODEL §3.4-§3.6; ODD §7.7-§7.10): where a found case goes, and how it moves on.

A case at the grassroots goes to the resident council, the social organisation or the
community's workers, the first whose authority, capacity and skill allow (小事不出村); a case
at street level is settled by the street if its authority covers it, else the street whistles
for the departments (吹哨报到) or passes it up (大事不出镇); district and city centres triage:
department cases are dispatched, others handled. Dispatchers send a case to the lead
department of its level; a dispatcher who sees that department's data (both on the shared
platform, ``network``) reaches it more surely, clear lists help either way; a case sent to the
wrong department comes back after a delay (推诿, a bounce). A street's whistle is answered with a
daily chance that rises with whistle power and the street - department tie; one not answered
within ``whistle_deadline`` days is passed up. A case that fails, misses its
deadline or lies beyond a level's authority goes up a level (矛盾上交).
"""

from __future__ import annotations

import numpy as np

from ..actors import Department, Street
from ..city import N_DOMAINS
from ..disputes import Handler, Level, State
from .base import EPS, Mechanism
from .information import reporting

GRASSROOTS_HANDLERS = (Handler.COUNCIL, Handler.SOCIAL_ORG, Handler.COMMUNITY)
#: Bit of each grassroots handler in a case's ``tried`` mask.
TRIED_BIT = {Handler.COUNCIL: 1, Handler.SOCIAL_ORG: 2, Handler.COMMUNITY: 4}


class Routing(Mechanism):
    name = "routing"
    counters = ("escalations", "escalations_to_street", "escalations_to_district", "escalations_to_city",
                "bounces", "whistles", "routings", "routings_correct", "whistle_answers", "whistle_delay_days",
                "whistle_passups", "passups", "passup_delay_days")

    def __init__(self, model):
        super().__init__(model)
        self.authority_community = 0.0  # authority of communities, with devolution (赋权)
        self.authority_street = 0.0

    def on_levers(self) -> None:
        h, lv = self.model.p.handling, self.model.levers
        self.authority_community = h.authority_community + h.devolution_reach * lv.authority_devolution
        self.authority_street = h.authority_street + h.devolution_reach * lv.authority_devolution

    def step(self) -> None:
        m = self.model
        cs = m.table
        # misrouted cases come back and are dispatched again (推诿)
        idx = cs.open_index()
        back = idx[(cs.state[idx] == State.ACTIVE) & cs.misrouted[idx] & (cs.wait_until[idx] <= m.day)]
        if len(back):
            cs.bounces[back] += 1
            self.count("bounces", len(back))
            cs.misrouted[back] = False
            self.dispatch(back)
        for _ in Level:  # a case may climb every level on the day nobody can take it
            idx = self._waiting()
            if len(idx) == 0:
                break
            lev = cs.level[idx]
            self._place_grassroots(idx[lev == Level.GRASSROOTS])
            self._place_street(idx[lev == Level.STREET])
            self._place_above(idx[lev >= Level.DISTRICT])

    def _waiting(self) -> np.ndarray:
        """Active cases that nobody holds and that wait for nothing: to be placed today."""
        cs, day = self.model.table, self.model.day
        idx = cs.open_index()
        return idx[(cs.state[idx] == State.ACTIVE) & (cs.holder[idx] < 0) & (cs.wait_until[idx] <= day)]

    def _queued_days(self) -> np.ndarray:
        """Days of capacity each unit's queue would take."""
        m = self.model
        cs = m.table
        idx = cs.open_index()
        held = idx[cs.holder[idx] >= 0]
        work = np.bincount(cs.holder[held], weights=cs.work[held], minlength=m.units.n)
        return work / np.maximum(m.capacity, EPS)

    def take(self, idx: np.ndarray, handler: Handler, holder: np.ndarray) -> None:
        """``holder`` (units of kind ``handler``) takes the cases: their work is set by type and severity,
        plus data entry for the platform (一网统管) at the grassroots unless automated."""
        m = self.model
        cs, h, T = m.table, m.p.handling, m.types
        cs.handler[idx] = handler
        cs.holder[idx] = holder
        work = T["work"][cs.type[idx]] * h.work_scale * (h.work_severity_offset + cs.severity[idx])
        work *= 1.0 + h.extra_dept_work * np.maximum(cs.n_depts[idx].astype(np.float32) - 1.0, 0.0)
        if handler in GRASSROOTS_HANDLERS:  # communities on the platform enter each case's data
            entry = m.p.workforce.data_entry_days * (1.0 - m.levers.automation)
            work = work + entry * m.mechanisms.network.community_integrated(cs.community[idx])
        cs.work[idx] = work
        cs.work_need[idx] = work  # what full work needs; an overloaded handler may give less (handling)
        cs.shortcut[idx] = -1

    def _place_grassroots(self, idx: np.ndarray) -> None:
        """Council → social organisation → community workers, where authority, capacity and skill allow."""
        if len(idx) == 0:
            return
        m = self.model
        cs, h, u = m.table, m.p.handling, m.units
        comm = cs.community[idx]
        tried = cs.tried[idx]
        needs = cs.needs_dept[idx]
        auth = cs.auth[idx]
        load = self._queued_days()
        council = u.council(comm)
        so = u.community_so[comm]
        trust = m.population.trust[cs.parties[idx, 0]]
        local = m.types["local"][cs.type[idx]]
        ok_council = ((tried & TRIED_BIT[Handler.COUNCIL]) == 0) & ~needs & (auth <= h.authority_self) \
            & (m.capacity[council] > 0) & (load[council] < h.max_queue_days)
        ok_so = ((tried & TRIED_BIT[Handler.SOCIAL_ORG]) == 0) & ~needs & (auth <= h.authority_social_org) \
            & (local >= h.so_min_local) & (trust >= h.so_min_trust) \
            & (m.capacity[so] > 0) & (load[so] < h.max_queue_days)
        ok_comm = ((tried & TRIED_BIT[Handler.COMMUNITY]) == 0) & (auth <= self.authority_community)
        choice = np.where(ok_council, 0, np.where(ok_so, 1, np.where(ok_comm, 2, 3)))
        self.take(idx[choice == 0], Handler.COUNCIL, council[choice == 0])
        self.take(idx[choice == 1], Handler.SOCIAL_ORG, so[choice == 1])
        self.take(idx[choice == 2], Handler.COMMUNITY, u.community_unit(comm[choice == 2]))
        up = idx[choice == 3]
        if len(up):  # nobody at the grassroots may settle it: it goes up (a failure if someone tried)
            failed = tried[choice == 3] != 0
            self.escalate(up[failed])
            self.escalate(up[~failed], penalise=False)

    def _place_street(self, idx: np.ndarray) -> None:
        """The street settles what its authority covers, whistles for departments, or passes it up; a
        case whose whistle nobody answered in time comes back here and is passed up."""
        if len(idx) == 0:
            return
        m = self.model
        cs, lv, n = m.table, m.levers, m.p.network
        due = cs.whistle_due[idx] >= 0
        if due.any():  # nobody reported to the whistle within the deadline: passed up without penalty
            late = idx[due]
            cs.whistle_due[late] = -1
            self.count("whistle_passups", len(late))
            self.escalate(late, penalise=False)
            idx = idx[~due]
        covered = cs.auth[idx] <= self.authority_street
        self.take(idx[covered], Handler.STREET, m.units.street_unit(cs.street[idx[covered]]))
        rest = idx[~covered]
        needs = cs.needs_dept[rest]
        whistles = Street.whistles(lv)
        whistle = rest[needs] if whistles else rest[:0]
        passed = rest[~needs] if whistles else rest
        cs.street_out[passed[cs.needs_dept[passed]]] = m.day  # the pass-up route to a department starts
        if len(whistle):  # 吹哨报到: departments report with a daily chance (power, w_local, the tie)
            cs.whistled[whistle] = True
            cs.street_out[whistle] = m.day
            self.count("whistles", len(whistle))
            rng = m.streams.day("whistle", m.day)
            p = Department.whistle_response(lv, m.p.handling, n, m.mechanisms.network.street_tie(whistle))
            delay = rng.geometric(p)
            answered = delay <= n.whistle_deadline
            self.dispatch(whistle[answered], delay=delay[answered])
            unanswered = whistle[~answered]
            cs.whistle_due[unanswered] = m.day
            cs.wait_until[unanswered] = m.day + n.whistle_deadline
        self.escalate(passed, penalise=False)

    def _place_above(self, idx: np.ndarray) -> None:
        """District and city centres triage: department cases are dispatched, others handled."""
        if len(idx) == 0:
            return
        m = self.model
        cs, triage = m.table, m.p.handling.triage_days
        needs = cs.needs_dept[idx]
        dept = idx[needs]
        # a case passed up after an unanswered whistle: the whistle named its departments, no second triage
        after_whistle = cs.whistled[dept] & (cs.street_out[dept] >= 0)
        self.dispatch(dept, delay=np.where(after_whistle, 0, triage))
        own = idx[~needs]
        city = cs.level[own] == Level.CITY
        self.take(own[~city], Handler.DISTRICT, m.units.district_unit(cs.district[own[~city]]))
        self.take(own[city], Handler.CITY, np.full(int(city.sum()), m.units.city_unit))
        cs.wait_until[own] = m.day + triage

    def dispatch(self, idx: np.ndarray, delay=0, dispatcher=None) -> None:
        """Send cases to the lead department of their level. The ``dispatcher`` (default: the street
        at street level, where the street whistled; the district centre; the city centre at city
        level) reaches the right department with ``routing_accuracy_data`` when it sees that
        department's data (both on the platform), else with ``routing_accuracy``, both as complete as
        reporting; clear lists remove ``routing_clarity_weight`` of the remaining errors. A case that
        reaches the wrong department comes back after ``bounce_delay`` (MODEL §3.6, §12.2). A
        cross-department case may be referred to the party committee's joint meeting."""
        if len(idx) == 0:
            return
        m = self.model
        cs, h, lv, u = m.table, m.p.handling, m.levers, m.units
        rng = m.streams.day("routing", m.day)
        level, district = cs.level[idx], cs.district[idx]
        city = level == Level.CITY
        if dispatcher is None:
            dispatcher = np.where(city, u.city_unit, np.where(level == Level.STREET, u.street_unit(cs.street[idx]),
                                                              u.district_unit(district)))
        lead_domain = cs.lead[idx].astype(np.int64)
        lead = np.where(city, u.city_dept(lead_domain), u.district_dept(district, lead_domain))
        sees = m.mechanisms.network.sees(dispatcher, lead)
        base = np.where(sees, m.p.network.routing_accuracy_data, h.routing_accuracy) * reporting(lv, m.p.workforce)
        accuracy = base + (1.0 - base) * h.routing_clarity_weight * lv.responsibility_clarity
        right = rng.random(len(idx)) < accuracy
        wrong_domain = (lead_domain + 1 + rng.integers(0, N_DOMAINS - 1, len(idx))) % N_DOMAINS
        domain = np.where(right, lead_domain, wrong_domain)
        holder = np.where(city, u.city_dept(domain), u.district_dept(district, domain))
        self.take(idx, Handler.DEPARTMENT, holder)
        cs.misrouted[idx] = ~right
        start = m.day + np.asarray(delay)
        cs.wait_until[idx] = start + np.where(right, 0, h.bounce_delay)
        out = cs.street_out[idx]
        handed = out >= 0  # the street handed it on: how long it took to reach a department
        if handed.any():
            days = (np.broadcast_to(start, idx.shape) - out)[handed]
            at_street = level[handed] == Level.STREET  # an answered whistle, else the pass-up route
            self.count("whistle_answers", int(at_street.sum()))
            self.count("whistle_delay_days", int(days[at_street].sum()))
            self.count("passups", int((~at_street).sum()))
            self.count("passup_delay_days", int(days[~at_street].sum()))
            cs.street_out[idx[handed]] = -1
        cross = cs.n_depts[idx] >= 2
        cs.coordinated[idx] = ~cross
        cs.referred[idx] = cross & (rng.random(len(idx)) < lv.party_attention)
        cs.referred_until[idx] = m.day + h.referral_meetings * h.meeting_interval  # then back to the departments
        self.count("routings", len(idx))
        self.count("routings_correct", int(right.sum()))

    def escalate(self, idx: np.ndarray, penalise: bool = True, conceal: bool = True) -> None:
        """矛盾上交: the case goes up a level. After a failure or a missed deadline (``penalise``)
        it counts against the unit, and severity and the parties' grievance rise; a case passed
        up because the level lacks authority goes up the same day. Unless ``conceal`` is off
        (the concealment draw was made already), the answerable unit may conceal it instead
        (``Deadlines.hold_back``)."""
        if len(idx) == 0:
            return
        m = self.model
        if conceal:
            idx = m.mechanisms.deadlines.hold_back(idx)
            if len(idx) == 0:
                return
        cs = m.table
        top = cs.level[idx] >= Level.CITY  # at the top already: placed again at city level, not an escalation
        cs.escalations[idx[~top]] += 1
        self.count("escalations", int((~top).sum()))
        m.mechanisms.evaluation.blame_escalations(idx, penalise)  # 权小责大: pass-ups count too
        if penalise:
            cs.severity[idx] = np.minimum(cs.severity[idx] + m.p.lifecycle.escalation_severity, 1.0)
            parties = cs.parties[idx].ravel()
            parties = parties[parties >= 0]
            g = m.population.grievance
            g[parties] = np.minimum(g[parties] + m.p.residents.grievance_escalation, 1.0)
        cs.release(idx)
        cs.concealer[idx] = -1  # a new level: whoever hid it there no longer answers for it
        cs.level[idx] = np.minimum(cs.level[idx] + 1, Level.CITY)
        for level in (Level.STREET, Level.DISTRICT, Level.CITY):
            self.count(f"escalations_to_{level.name.lower()}", int((cs.level[idx[~top]] == level).sum()))
        cs.visited[idx] |= (1 << cs.level[idx]).astype(np.int8)
        cs.arrived[idx[~top]] = m.day
        cs.wait_until[idx] = m.day + (1 if penalise else 0)
