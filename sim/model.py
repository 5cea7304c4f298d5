"""CoGovernanceModel: wiring and the daily order (MODEL §8)."""

from __future__ import annotations

import time
from random import Random
from functools import cached_property

import mesa
import numpy as np

from . import metrics
from .actors import Centre, Community, Department, PartyCommittee, SocialOrganisation, Street
from .city import N_DOMAINS, Units, build_org_network, build_territory
from .disputes import MAX_PARTIES, CaseTable, CaseView, Channel, Eruption, Handler, Level, State, type_table
from .incentives import Learner, PeriodRecord, payoffs
from .params import Scenario, load_scenario
from .population import Population, Resident, build_network
from .streams import Streams

GRASSROOTS_HANDLERS = (Handler.COUNCIL, Handler.SOCIAL_ORG, Handler.COMMUNITY)
TRIED_BIT = {Handler.COUNCIL: 1, Handler.SOCIAL_ORG: 2, Handler.COMMUNITY: 4}
EPS = 1e-6


class CoGovernanceModel(mesa.Model):
    """Multi-actor co-governance of disputes in a city.

    Args:
        scenario: a ``Scenario``, a TOML path, a built-in scenario name, a dict or None.
        seed: run seed; overrides the scenario's.
        **overrides: top-level scenario fields (``preset``, ``days``...).

    Example:
        >>> m = CoGovernanceModel("baseline", seed=1, preset="classroom")
        >>> m.run(30).summary()["cases_total"] > 0
        True
    """

    def __init__(self, scenario: Scenario | str | dict | None = None, seed: int | None = None, **overrides):
        sc = load_scenario(scenario, seed=seed, **overrides)
        self.config = self.p = sc  # (Mesa 3.5 reserves `scenario`)
        self.streams = Streams(sc.seed)
        super().__init__(rng=self.streams.integer("mesa"))
        self.random = Random(self.streams.integer("mesa"))  # full width, for shuffle_do
        self.day = 0
        self.levers = sc.levers_on(0)
        self.types = type_table()

        # structure, residents and their network
        counts = sc.counts()
        self.territory = t = build_territory(counts, sc.n_residents(), self.streams.get("structure"))
        self.units = units = Units(t, sc.structure.social_orgs_per_street)
        network = build_network(t, sc.structure, self.streams.get("network"))
        self.population = Population(t, sc.structure, sc.residents, self.levers.volunteer_rate,
                                           self.streams.get("population"), network)

        # per-unit daily arrays and learned choices (effort, paperwork, superficial, conceal)
        U = units.n
        self.capacity = np.zeros(U, dtype=np.float32)
        self.used = np.zeros(U)                    # person-days used this period
        self.available = np.zeros(U)               # person-days available this period
        self.patrol_days = np.zeros(t.n_communities)
        self.volunteer_days = np.zeros(t.n_communities)
        self.strategy = np.zeros((U, 4), dtype=np.float32)
        ev = sc.evaluation
        evaluated = units.evaluated()
        self.strategy[:, 0] = 1.0
        self.strategy[evaluated] = (ev.initial_effort, 0.2, 0.1, 0.1)
        self.effort, self.paperwork, self.superficial, self.conceal = (self.strategy[:, i] for i in range(4))
        self.record = PeriodRecord(U)
        self.learner = Learner(evaluated)

        self.table = CaseTable(capacity=self._expected_cases())
        # skill multiplier of each community's workers (new hires are less skilled; see _evaluate)
        self.community_skill = np.ones(t.n_communities, dtype=np.float32)
        self._build_agents()
        self._moral = 0.0                          # matured moral education (德治 is slow)
        self._clarity_paid = 0.0
        self._cost: float | None = None
        self.totals = metrics.Totals()
        self._rows: list[dict] = []
        self._resident_views: dict[int, Resident] = {}
        self._meeting_pool = np.empty(0, dtype=np.int64)
        self.timings: dict[str, float] | None = None  # set to {} to time each component of the day
        self._today = metrics.new_day()
        self._closed_today: list[np.ndarray] = []
        self._apply_levers()

    # ------------------------------------------------------------------------------------------
    # building
    # ------------------------------------------------------------------------------------------

    def _expected_cases(self) -> int:
        e = self.p.emergence
        per_day = self.population.n * (e.disputes_per_1000_year / 1000 + e.demands_per_resident_year) / 365
        return int(per_day * self.p.days * 1.1) + 1024

    def _build_agents(self) -> None:
        t, u, s, n = self.territory, self.units, self.p.structure, self.population.n
        self.communities = [Community(self, c, int(t.community_size[c]), t.community_size[c] / s.residents_per_worker)
                            for c in range(t.n_communities)]
        street_res = np.bincount(t.community_street, weights=t.community_size, minlength=t.n_streets)
        so_res = np.bincount(u.community_so - u.start["social_org"], weights=t.community_size,
                             minlength=u.sizes["social_org"])
        self.social_orgs = [SocialOrganisation(self, u.start["social_org"] + k, int(so_res[k]))
                            for k in range(u.sizes["social_org"])]
        self.streets = [Street(self, k, street_res[k] / 1e4 * s.street_staff_per_10k) for k in range(t.n_streets)]
        district_res = np.bincount(t.community_district, weights=t.community_size, minlength=t.n_districts)
        self.centres = [Centre(self, u.district_unit(d), district_res[d] / 1e5 * s.centre_staff_per_100k)
                        for d in range(t.n_districts)]
        self.centres.append(Centre(self, u.city_unit, n / 1e6 * s.city_staff_per_1m))
        self.departments = [Department(self, u.district_dept(d, k), k, district_res[d] / 1e5 * s.dept_staff_per_100k, d)
                            for d in range(t.n_districts) for k in range(N_DOMAINS)]
        self.departments += [Department(self, u.city_dept(k), k, n / 1e6 * s.city_dept_staff_per_1m, None)
                             for k in range(N_DOMAINS)]
        self.committees = [PartyCommittee(self, Level.STREET, k, street_res[k]) for k in range(t.n_streets)]
        self.committees += [PartyCommittee(self, Level.DISTRICT, d, district_res[d]) for d in range(t.n_districts)]
        self.committees.append(PartyCommittee(self, Level.CITY, 0, n))
        self.units_by_index = {a.unit: a for a in (*self.communities, *self.social_orgs, *self.streets,
                                                   *self.centres, *self.departments)}

    def _apply_levers(self) -> None:
        """Structural consequences of the levers in force: staff moved down, one-off drafting."""
        lv, w, pop = self.levers, self.p.workforce, self.population
        pop.set_volunteer_rate(lv.volunteer_rate)
        C = self.territory.n_communities
        self.volunteers = np.bincount(pop.community, weights=pop.volunteer, minlength=C)
        self.party_members = np.bincount(pop.community, weights=pop.party_member, minlength=C)
        for c in self.communities:
            c.volunteers, c.party_members = int(self.volunteers[c.index]), int(self.party_members[c.index])
        moved_share = w.transferable_dept_staff * lv.authority_devolution * lv.resources_follow
        t = self.territory
        moved_to_district = np.zeros(t.n_districts)
        for dept in self.departments:
            dept.moved_out = dept.staff * moved_share
            if dept.district is None:
                moved_to_district += dept.moved_out * np.bincount(
                    t.community_district, weights=t.community_size, minlength=t.n_districts) / t.community_size.sum()
            else:
                moved_to_district[dept.district] += dept.moved_out
        # half to streets, half to communities, in proportion to residents (人随事走)
        res_d = np.bincount(t.community_district, weights=t.community_size, minlength=t.n_districts)
        for c in self.communities:
            d = t.community_district[c.index]
            c.moved_in = 0.5 * moved_to_district[d] * c.residents / res_d[d]
        street_res = np.bincount(t.community_street, weights=t.community_size, minlength=t.n_streets)
        for s in self.streets:
            d = t.street_district[s.index]
            s.moved_in = 0.5 * moved_to_district[d] * street_res[s.index] / res_d[d]
        if lv.responsibility_clarity > self._clarity_paid:  # drafting lists is a fixed, one-off cost
            days = self.p.costs.drafting_days * (lv.responsibility_clarity - self._clarity_paid) * t.n_districts
            self.totals.person_days += days  # real person-days (a district drafts its lists whatever the scale)
            self.totals.budget += days * self.p.costs.staff_day
            self._clarity_paid = lv.responsibility_clarity
        self._cost = None
        self.a_community = self.p.handling.authority_community + self.p.handling.devolution_reach * lv.authority_devolution
        self.a_street = self.p.handling.authority_street + self.p.handling.devolution_reach * lv.authority_devolution

    def daily_cost(self) -> float:
        """Yuan spent per day: staff, purchased services, platform, moral programme (real scale)."""
        if self._cost is None:
            lv, c, n = self.levers, self.p.costs, self.population.n
            staff = (self.workers_total() + sum(s.staff + s.moved_in for s in self.streets)
                     + sum(x.staff for x in self.centres)
                     + sum(max(d.staff - d.moved_out, 0.0) for d in self.departments))
            per_resident = (lv.social_org_funding * c.social_org_budget + lv.info_sharing * c.platform
                            + lv.automation * c.automation + lv.moral_education * c.moral_programme) / 365.0
            self._cost = (staff * c.staff_day + per_resident * n) * self.p.structure.population_scale
        return self._cost

    def workers_total(self) -> float:
        """Community workers at their posts (vacancies excluded, staff moved down included)."""
        return float(sum(c.workers for c in self.communities))

    @cached_property
    def org_network(self):
        """The organisational network (networkx MultiDiGraph), built on first use."""
        return build_org_network(self.territory, self.units, self.levers.info_sharing)

    # ------------------------------------------------------------------------------------------
    # the day
    # ------------------------------------------------------------------------------------------

    def step(self) -> None:
        """One day, in this order (MODEL §8):

        1. levers: schedule entries for today take effect;
        2. residents: disputes emerge (thinned Poisson process, hazard rising with grievance,
           lowered by moral education); grievance decays and spreads; mobilisation updates;
        3. detection and eruption: open cases brew; latent ones are found by reports, patrols
           or data; cases at eruption severity whose parties are mobilised erupt into a
           petition or a collective incident;
        4. organisations set today's capacity: communities (shuffled), social organisations,
           streets, centres, departments;
        5. routing: found, failed and escalated cases are placed (council → social org →
           community workers → street → whistle / district → city); misrouted cases bounce;
        6. handling: each unit's capacity is spent on its queue by priority; finished work
           succeeds, is closed superficially, or moves on;
        7. coordination: the party committees' joint meetings (street, district, then city
           committees) unblock referred cross-department cases; other such cases coordinate
           spontaneously or are pushed back; a referral not taken up within two meetings lapses;
        8. deadlines: overdue cases escalate or are concealed; city backlog (积案);
        9. closures: satisfaction, trust and grievance update with word of mouth; superficial
           closures may reopen; parties may give up;
        10. every evaluation period: scores, learning, burnout and turnover;
        11. data collection.
        """
        for name, stage in self._stages:
            if self.timings is None:
                stage()
            else:
                t0 = time.perf_counter()
                stage()
                self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0
        self.day += 1

    @property
    def _stages(self):
        """The daily order as (component, method) pairs; ``timings`` sums time per component."""
        return (("levers", self._start_day), ("emergence", self._emerge), ("residents", self._residents),
                ("detection", self._brew_detect_erupt), ("organisations", self._set_capacity),
                ("routing", self._route), ("handling", self._handle), ("party committees", self._committees),
                ("coordination", self._coordinate), ("deadlines", self._deadlines),
                ("closures", self._give_up_and_reopen), ("closures", self._update_residents_after_closures),
                ("evaluation", self._evaluate_if_due), ("data collection", self._collect))

    def _start_day(self) -> None:
        self._today = metrics.new_day()
        self._closed_today = []
        new = self.p.levers_on(self.day)
        if new != self.levers:
            self.levers = new
            self._apply_levers()

    def _committees(self) -> None:
        if self.day % self.p.handling.meeting_interval == 0:  # the cases waiting for a meeting, found once
            cs = self.table
            idx = cs.open_index()
            self._meeting_pool = idx[(cs.state[idx] == State.ACTIVE) & cs.referred[idx] & ~cs.coordinated[idx]]
        for committee in self.committees:
            committee.step()

    def _evaluate_if_due(self) -> None:
        if (self.day + 1) % self.p.evaluation.period == 0:
            self._evaluate()

    def run(self, days: int | None = None, progress=None) -> "CoGovernanceModel":
        """Run ``days`` more days (default: the scenario's). ``progress`` is called with each day."""
        for _ in range(self.p.days if days is None else int(days)):
            self.step()
            if progress is not None:
                progress(self.day)
        return self

    # 2. residents --------------------------------------------------------------------------------

    def _emerge(self) -> None:
        """Disputes arise. Candidates come from a fixed stream; a candidate becomes a dispute
        with probability hazard/hazard_max, so the same seed gives the same candidates in
        every scenario and levers act only through the residents' grievance and moral education."""
        e, pop, T = self.p.emergence, self.population, self.types
        rng = self.streams.day("emergence", self.day)
        self._moral += (self.levers.moral_education - self._moral) / e.moral_ramp_days
        gmax = 1.0 + e.grievance_hazard
        parts = []
        for family, (rate, mix) in enumerate(((e.disputes_per_1000_year / 1000.0, T["dispute_p"]),
                                              (e.demands_per_resident_year, T["demand_p"]))):
            m = rng.poisson(pop.n * rate / 365.0 * gmax)
            who = rng.integers(0, pop.n, m)
            u = rng.random(m)
            ctype = rng.choice(len(mix), m, p=mix).astype(np.int8)
            sev = np.clip(rng.beta(2.0, 2.0, m) * 2 * T["severity"][ctype], 0.02, 1.0).astype(np.float32)
            group = rng.random(m) < T["p_group"][ctype]
            size = np.where(group, rng.integers(3, MAX_PARTIES + 1, m), 1)
            # a demand needs a department more often than a dispute of the same type does
            needs = rng.random(m) < np.where(family == 1, 0.5 + 0.5 * T["p_dept"][ctype], T["p_dept"][ctype])
            cross = rng.random(m) < T["p_cross"][ctype]
            n_depts = np.where(needs, np.where(cross, 1 + np.minimum(T["n_co"][ctype], 1 + (rng.random(m) < 0.3)), 1), 0)
            ua = rng.random(m)
            auth = np.where(needs, 0.55 + 0.45 * ua, np.clip(0.6 * sev + 0.4 * ua, 0, 1)).astype(np.float32)
            offset = rng.integers(0, 1 << 30, m)
            accept = pop.accept_candidates(who, u, e.grievance_hazard, e.moral_effect * self._moral)
            k = int(accept.sum())
            self._today["candidates"] += m
            if k == 0:
                continue
            sel = np.flatnonzero(accept)
            parts.append((family, who[sel], ctype[sel], sev[sel], size[sel], needs[sel], n_depts[sel], auth[sel], offset[sel]))
        for family, who, ctype, sev, size, needs, n_depts, auth, offset in parts:
            k = len(who)
            parties = np.full((k, MAX_PARTIES), -1, dtype=np.int32)
            parties[:, 0] = who
            A = pop.network
            deg = (A.indptr[who + 1] - A.indptr[who]).astype(np.int64)
            for j in range(1, MAX_PARTIES):  # group parties: neighbours of the first party
                ok = (size > j) & (deg >= j)
                pos = A.indptr[who[ok]] + (offset[ok] + j - 1) % deg[ok]
                parties[ok, j] = A.indices[pos]
            n_parties = (parties >= 0).sum(axis=1).astype(np.int8)
            comm = pop.community[who]
            street = self.territory.community_street[comm]
            idx = self.table.add(
                k, parties, type=ctype, family=family, severity=sev, severity0=sev, auth=auth,
                needs_dept=needs, lead=self.types["lead"][ctype], n_depts=n_depts, n_parties=n_parties,
                community=comm, street=street, district=self.territory.street_district[street],
                created=self.day)
            pop.last_case[who] = idx
            self._today["new_cases"] += k

    def _residents(self) -> None:
        pop, r = self.population, self.p.residents
        pop.add_open_grievance(self.table.parties[self.table.open_index()], r.grievance_open)
        pop.daily_update(r)

    # 3. brewing, detection, eruption -------------------------------------------------------------

    @property
    def reporting(self) -> float:
        """Completeness of top-down reporting: cut by burden reduction (减负) unless automated."""
        lv = self.levers
        return 1.0 - self.p.workforce.reporting_loss * lv.burden_reduction * (1.0 - lv.automation)

    @property
    def info_quality(self) -> float:
        """Information on the shared platform: shared data, as complete as the reporting that feeds it."""
        return self.levers.info_sharing * self.reporting

    def _brew_detect_erupt(self) -> None:
        cs, L, d, T = self.table, self.p.lifecycle, self.p.detection, self.types
        rng = self.streams.day("detection", self.day)
        grng = self.streams.day("fading", self.day)
        idx = cs.open_index()
        if len(idx) == 0:
            return
        st = cs.state[idx]
        latent = st == State.LATENT
        growth = L.latent_growth * T["growth"][cs.type[idx]] * np.where(latent, 1.0, L.handled_growth)
        cs.severity[idx] = np.minimum(cs.severity[idx] + growth, 1.0)
        # latent, low-severity cases may fade away
        lat = idx[latent]
        fade = (cs.severity[lat] < 0.3) & (grng.random(len(lat)) < L.p_fade)
        self._close(lat[fade], State.WITHDRAWN)
        lat = lat[~fade]
        # three independent detection channels
        sev = cs.severity[lat]
        party = cs.parties[lat, 0]
        trust = self.population.trust[party]
        p_report = d.p_report * (0.25 + 0.75 * trust) * (0.5 + sev)
        comm = cs.community[lat]
        intensity = self.patrol_days[comm] / self.territory.community_size[comm] * 100.0
        p_patrol = 1.0 - np.exp(-d.patrol_efficacy * intensity * (0.5 + sev))
        p_data = d.p_data * self.info_quality * sev
        u = rng.random((3, len(lat)))
        hit = np.stack([u[0] < p_report, u[1] < p_patrol, u[2] < p_data])
        found = hit.any(axis=0)
        channel = np.argmax(hit, axis=0)
        f = lat[found]
        cs.detected[f] = self.day
        cs.channel[f] = channel[found]
        cs.state[f] = State.ACTIVE
        cs.level[f] = Level.GRASSROOTS
        cs.arrived[f] = self.day
        cs.visited[f] |= 1
        self._today["detected"] += len(f)
        for ch in Channel:
            self._today[f"detected_{ch.name.lower()}"] += int((channel[found] == ch).sum())
        # eruption: mobilised parties of a case at eruption severity
        idx = cs.open_index()
        hot = idx[cs.severity[idx] >= L.eruption_severity]
        if len(hot):
            parties = cs.parties[hot]
            mob = np.where(parties >= 0, self.population.mobilised[np.maximum(parties, 0)], False)
            collective = (cs.n_parties[hot] >= 3) & (mob.sum(axis=1) >= 2)
            petition = ~collective & mob[:, 0]
            cs.eruption[hot[collective]] = Eruption.COLLECTIVE_INCIDENT
            cs.eruption[hot[petition]] = Eruption.PETITION
            erupt = hot[collective | petition]
            self.record.add("erupted", self._responsible(erupt))
            self._today["petitions"] += int(petition.sum())
            self._today["collective_incidents"] += int(collective.sum())
            self._close(erupt, State.ERUPTED)

    # 4. capacity -----------------------------------------------------------------------------------

    def _set_capacity(self) -> None:
        r, lv = self.p.residents, self.levers
        rng = self.streams.day("volunteers", self.day)
        pledged = (self.volunteers + self.party_members * lv.party_attention * lv.party_integration) * r.volunteer_days_year / 365.0
        self.volunteer_days = rng.poisson(pledged * r.volunteer_reliability).astype(float)
        self.agents_by_type[Community].shuffle_do("step")
        for kind in (SocialOrganisation, Street, Centre, Department):
            self.agents_by_type[kind].do("step")
        self.available += self.capacity

    # 5. routing ------------------------------------------------------------------------------------

    def _waiting_placement(self) -> np.ndarray:
        cs = self.table
        idx = cs.open_index()
        return idx[(cs.state[idx] == State.ACTIVE) & (cs.holder[idx] < 0) & (cs.wait_until[idx] <= self.day)]

    def _route(self) -> None:
        cs = self.table
        # misrouted cases come back and are dispatched again (推诿)
        idx = cs.open_index()
        back = idx[(cs.state[idx] == State.ACTIVE) & cs.misrouted[idx] & (cs.wait_until[idx] <= self.day)]
        if len(back):
            cs.bounces[back] += 1
            self._today["bounces"] += len(back)
            cs.misrouted[back] = False
            self._dispatch_to_department(back)
        for _ in range(4):  # a case may climb several levels on the day nobody can take it
            idx = self._waiting_placement()
            if len(idx) == 0:
                break
            lev = cs.level[idx]
            self._place_grassroots(idx[lev == Level.GRASSROOTS])
            self._place_street(idx[lev == Level.STREET])
            self._place_above(idx[lev >= Level.DISTRICT])

    def _queued_days(self) -> np.ndarray:
        """Days of capacity each unit's queue would take."""
        cs = self.table
        idx = cs.open_index()
        held = idx[cs.holder[idx] >= 0]
        work = np.bincount(cs.holder[held], weights=cs.work[held], minlength=self.units.n)
        return work / np.maximum(self.capacity, EPS)

    def _take(self, idx: np.ndarray, handler: Handler, holder: np.ndarray) -> None:
        cs, h, T = self.table, self.p.handling, self.types
        cs.handler[idx] = handler
        cs.holder[idx] = holder
        work = T["work"][cs.type[idx]] * h.work_scale * (0.5 + cs.severity[idx])
        work *= 1.0 + 0.5 * np.maximum(cs.n_depts[idx].astype(np.float32) - 1.0, 0.0)
        if handler in GRASSROOTS_HANDLERS:  # data entry for the platform (一网统管), unless automated
            lv = self.levers
            work = work + self.p.workforce.data_entry_days * lv.info_sharing * (1.0 - lv.automation)
        cs.work[idx] = work

    def _place_grassroots(self, idx: np.ndarray) -> None:
        """Council → social organisation → community workers, where authority, capacity and skill allow."""
        if len(idx) == 0:
            return
        cs, h, u = self.table, self.p.handling, self.units
        comm = cs.community[idx]
        tried = cs.tried[idx]
        needs = cs.needs_dept[idx]
        auth = cs.auth[idx]
        load = self._queued_days()
        council = u.council(comm)
        so = u.community_so[comm]
        trust = self.population.trust[cs.parties[idx, 0]]
        local = self.types["local"][cs.type[idx]]
        ok_council = ((tried & 1) == 0) & ~needs & (auth <= h.authority_self) & (self.capacity[council] > 0) \
            & (load[council] < h.max_queue_days)
        ok_so = ((tried & 2) == 0) & ~needs & (auth <= h.authority_social_org) & (local >= 0.4) \
            & (trust >= h.so_min_trust) & (self.capacity[so] > 0) & (load[so] < h.max_queue_days)
        ok_comm = ((tried & 4) == 0) & (auth <= self.a_community)
        choice = np.where(ok_council, 0, np.where(ok_so, 1, np.where(ok_comm, 2, 3)))
        self._take(idx[choice == 0], Handler.COUNCIL, council[choice == 0])
        self._take(idx[choice == 1], Handler.SOCIAL_ORG, so[choice == 1])
        self._take(idx[choice == 2], Handler.COMMUNITY, u.community_unit(comm[choice == 2]))
        up = idx[choice == 3]
        if len(up):  # nobody at the grassroots may settle it: it goes up (a failure if someone tried)
            failed = tried[choice == 3] != 0
            self._escalate(up[failed])
            self._escalate(up[~failed], penalise=False)

    def _place_street(self, idx: np.ndarray) -> None:
        """The street settles what its authority covers, whistles for departments, or passes it up."""
        if len(idx) == 0:
            return
        cs, lv = self.table, self.levers
        covered = cs.auth[idx] <= self.a_street
        self._take(idx[covered], Handler.STREET, self.units.street_unit(cs.street[idx[covered]]))
        rest = idx[~covered]
        needs = cs.needs_dept[rest]
        whistle = rest[needs] if lv.whistle_power > 0 else rest[:0]
        if len(whistle):  # 吹哨报到: departments report after a delay that shrinks with whistle power
            cs.whistled[whistle] = True
            self._today["whistles"] += len(whistle)
            rng = self.streams.day("whistle", self.day)
            p = min(1.0, lv.whistle_power * (0.5 + 0.5 * lv.w_local) / self.p.handling.whistle_delay)
            self._dispatch_to_department(whistle, delay=rng.geometric(p, len(whistle)))
        up = rest[~needs] if lv.whistle_power > 0 else rest
        self._escalate(up, penalise=False)

    def _place_above(self, idx: np.ndarray) -> None:
        """District and city centres triage: department cases are dispatched, others handled."""
        if len(idx) == 0:
            return
        cs = self.table
        needs = cs.needs_dept[idx]
        self._dispatch_to_department(idx[needs], delay=self.p.handling.triage_days)
        own = idx[~needs]
        city = cs.level[own] == Level.CITY
        self._take(own[~city], Handler.DISTRICT, self.units.district_unit(cs.district[own[~city]]))
        self._take(own[city], Handler.CITY, np.full(int(city.sum()), self.units.city_unit))
        cs.wait_until[own] = self.day + self.p.handling.triage_days

    def _dispatch_to_department(self, idx: np.ndarray, delay=0) -> None:
        """Send cases to the lead department of their level; without shared data or clear lists
        some reach the wrong department and come back after a delay (MODEL §3.6)."""
        if len(idx) == 0:
            return
        cs, h, lv = self.table, self.p.handling, self.levers
        rng = self.streams.day("routing", self.day)
        base = h.routing_accuracy * self.reporting  # without a platform, dispatchers rely on reports
        accuracy = base + (1.0 - base) * (0.7 * self.info_quality + 0.3 * lv.responsibility_clarity)
        right = rng.random(len(idx)) < accuracy
        wrong_domain = (cs.lead[idx] + 1 + rng.integers(0, N_DOMAINS - 1, len(idx))) % N_DOMAINS
        domain = np.where(right, cs.lead[idx], wrong_domain)
        city = cs.level[idx] == Level.CITY
        holder = np.where(city, self.units.city_dept(domain), self.units.district_dept(cs.district[idx], domain))
        self._take(idx, Handler.DEPARTMENT, holder)
        cs.misrouted[idx] = ~right
        cs.wait_until[idx] = self.day + np.asarray(delay) + np.where(right, 0, h.bounce_delay)
        cross = cs.n_depts[idx] >= 2
        cs.coordinated[idx] = ~cross
        cs.referred[idx] = cross & (rng.random(len(idx)) < lv.party_attention)
        cs.referred_until[idx] = self.day + 2 * h.meeting_interval  # two meetings, then back to the departments
        self._today["routings"] += len(idx)
        self._today["routings_correct"] += int(right.sum())

    # 6. handling -----------------------------------------------------------------------------------

    def _handle(self) -> None:
        """Spend each unit's capacity on its queue by priority (one sort and one cumulative sum)."""
        cs, lv = self.table, self.levers
        idx = cs.open_index()
        blocked = (cs.handler[idx] == Handler.DEPARTMENT) & ~cs.coordinated[idx]  # waits for coordination
        ok = (cs.state[idx] == State.ACTIVE) & (cs.holder[idx] >= 0) & (cs.wait_until[idx] <= self.day) \
            & ~cs.misrouted[idx] & ~blocked
        work_idx = idx[ok]
        if len(work_idx) == 0:
            return
        q = self.info_quality  # with shared data, priority follows risk; without, first come first served
        age = np.minimum((self.day - cs.arrived[work_idx]) / 30.0, 1.0)
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
        alloc = np.clip(self.capacity[hold] - before, 0.0, work)
        cs.work[w_idx] = (work - alloc).astype(np.float32)
        self.used += np.bincount(hold, weights=alloc, minlength=self.units.n)
        self._today["person_days"] += float(alloc.sum())
        done = w_idx[cs.work[w_idx] <= EPS]
        if len(done):
            self._finish(done)

    def _skill(self, idx: np.ndarray) -> np.ndarray:
        cs, h = self.table, self.p.handling
        handler = cs.handler[idx]
        local = self.types["local"][cs.type[idx]]
        table = np.array([h.skill_self, h.skill_social_org, h.skill_community, h.skill_street,
                          h.skill_district, h.skill_city, h.skill_department], dtype=np.float32)
        skill = table[handler]
        mediation = handler <= Handler.SOCIAL_ORG
        skill = np.where(mediation, skill * local * (1 + h.moral_acceptance * self._moral), skill)
        grass = handler == Handler.COMMUNITY
        skill[grass] *= self.community_skill[cs.community[idx[grass]]]
        return skill

    def _finish(self, idx: np.ndarray) -> None:
        """Work is done: a real resolution, a superficial closure, or the next handler."""
        cs, h = self.table, self.p.handling
        rng = self.streams.day("handling", self.day)
        trust = self.population.trust[cs.parties[idx, 0]]
        p = self._skill(idx) * (1 - h.trust_weight + h.trust_weight * trust) + h.info_weight * self.info_quality
        u = rng.random((2, len(idx)))
        success = u[0] < np.clip(p, 0.0, 0.99)
        self._close(idx[success], State.RESOLVED)
        failed = idx[~success]
        resp = self._responsible(failed)
        shallow = u[1][~success] < self.superficial[resp]
        self._close(failed[shallow], State.SUPERFICIAL)
        moving = failed[~shallow]
        grass = moving[cs.level[moving] == Level.GRASSROOTS]
        for handler, bit in TRIED_BIT.items():
            cs.tried[grass[cs.handler[grass] == handler]] |= bit
        self._release(grass)
        self._escalate(moving[cs.level[moving] != Level.GRASSROOTS])

    def _release(self, idx: np.ndarray) -> None:
        cs = self.table
        cs.handler[idx] = -1
        cs.holder[idx] = -1
        cs.work[idx] = 0.0
        cs.misrouted[idx] = False
        cs.coordinated[idx] = False
        cs.referred[idx] = False

    def _responsible(self, idx: np.ndarray) -> np.ndarray:
        """The evaluated unit answerable for each case: its community at the grassroots, else the holder."""
        cs, u = self.table, self.units
        holder = cs.holder[idx]
        grass = (cs.handler[idx] < Handler.STREET) | (holder < 0)
        by_level = np.where(cs.level[idx] == Level.STREET, u.street_unit(cs.street[idx]),
                            np.where(cs.level[idx] == Level.GRASSROOTS, u.community_unit(cs.community[idx]),
                                     u.district_unit(cs.district[idx])))
        return np.where(grass, np.where(holder < 0, by_level, u.community_unit(cs.community[idx])), holder)

    def _escalate(self, idx: np.ndarray, penalise: bool = True) -> None:
        """矛盾上交: the case goes up a level. After a failure or a missed deadline (``penalise``)
        it counts against the unit, and severity and the parties' grievance rise; a case passed
        up because the level lacks authority goes up the same day."""
        if len(idx) == 0:
            return
        cs = self.table
        top = cs.level[idx] >= Level.CITY  # at the top already: placed again at city level, not an escalation
        cs.escalations[idx[~top]] += 1
        self._today["escalations"] += int((~top).sum())
        if penalise:
            self.record.add("escalated", self._responsible(idx))
            cs.severity[idx] = np.minimum(cs.severity[idx] + self.p.lifecycle.escalation_severity, 1.0)
            parties = cs.parties[idx].ravel()
            parties = parties[parties >= 0]
            g = self.population.grievance
            g[parties] = np.minimum(g[parties] + self.p.residents.grievance_escalation, 1.0)
        self._release(idx)
        cs.level[idx] = np.minimum(cs.level[idx] + 1, Level.CITY)
        for level in (Level.STREET, Level.DISTRICT, Level.CITY):
            self._today[f"escalations_to_{level.name.lower()}"] += int((cs.level[idx[~top]] == level).sum())
        cs.visited[idx] |= (1 << cs.level[idx]).astype(np.int8)
        cs.arrived[idx[~top]] = self.day
        cs.wait_until[idx] = self.day + (1 if penalise else 0)

    # 7. coordination -------------------------------------------------------------------------------

    def _coordinate(self) -> None:
        """Cross-department cases move only when all departments act (MODEL §3.6)."""
        cs, h, lv = self.table, self.p.handling, self.levers
        idx = cs.open_index()
        lapsed = idx[cs.referred[idx] & (cs.referred_until[idx] < self.day)]
        cs.referred[lapsed] = False  # the committee never took it up: departments must coordinate themselves
        blocked = idx[(cs.state[idx] == State.ACTIVE) & (cs.handler[idx] == Handler.DEPARTMENT) & ~cs.coordinated[idx]
                      & ~cs.misrouted[idx] & ~cs.referred[idx] & (cs.wait_until[idx] <= self.day)]
        if len(blocked) == 0:
            return
        rng = self.streams.day("coordination", self.day)
        p_coord = min(1.0, h.p_coordinate * (1 + 3 * self.info_quality + 2 * lv.responsibility_clarity))
        p_push = h.p_push_back * (1 - lv.responsibility_clarity)
        u = rng.random(len(blocked))
        cs.coordinated[blocked[u < p_coord]] = True
        push = blocked[(u >= p_coord) & (u < p_coord + p_push)]
        if len(push):  # 推诿: "not ours" — back to the dispatcher, sent again after triage
            cs.bounces[push] += 1
            self._today["bounces"] += len(push)
            self._dispatch_to_department(push, delay=h.triage_days)

    def convene_joint_meeting(self, level: Level, index: int, slots: int) -> int:
        """A party committee's joint meeting (联席会议): the highest-severity cross-department cases
        referred to it get every department to act. A street committee takes the cases its street
        whistled for; a district committee its district's; the city committee the city's.
        Returns how many were unblocked."""
        if slots <= 0:
            return 0
        cs = self.table
        idx = self._meeting_pool
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
        self._today["meeting_cases"] += len(chosen)
        return len(chosen)

    # 8. deadlines ----------------------------------------------------------------------------------

    def _deadlines(self) -> None:
        cs, h = self.table, self.p.handling
        idx = cs.open_index()
        act = idx[cs.state[idx] == State.ACTIVE]
        limit = np.array([h.deadline_community, h.deadline_street, h.deadline_district, h.backlog_days])[cs.level[act]]
        over = act[self.day - cs.arrived[act] > limit]
        top = cs.level[over] == Level.CITY
        cs.backlog[over[top]] = True
        over = over[~top]
        if len(over) == 0:
            return
        rng = self.streams.day("deadlines", self.day)
        hide = rng.random(len(over)) < self.conceal[self._responsible(over)]
        held = over[hide]  # concealment: held past the limit instead of going up; it keeps brewing
        cs.concealed[held] += 1
        cs.arrived[held] = self.day
        self._escalate(over[~hide])

    # 9. closures -----------------------------------------------------------------------------------

    def _close(self, idx: np.ndarray, state: State) -> None:
        if len(idx) == 0:
            return
        cs, r = self.table, self.p.residents
        responsible = self._responsible(idx)
        cs.state[idx] = state
        cs.closed[idx] = self.day
        cs.outcome_level[idx] = cs.level[idx]
        cs.outcome_handler[idx] = cs.handler[idx]
        if state == State.RESOLVED:
            days = self.day - np.maximum(cs.detected[idx], cs.created[idx])
            steps = cs.escalations[idx] + cs.bounces[idx]
            sat = r.sat_resolved - r.sat_slow * np.minimum(days / 60.0, 1.0) - r.sat_per_step * steps
            sat = np.clip(sat, 0.05, 1.0)
        elif state == State.SUPERFICIAL:
            sat = np.full(len(idx), r.sat_superficial)
        elif state == State.ERUPTED:
            sat = np.zeros(len(idx))
        else:
            sat = np.where(cs.detected[idx] >= 0, r.sat_withdrawn, np.nan)  # faded cases are judged by nobody
        cs.satisfaction[idx] = sat
        if state in (State.RESOLVED, State.SUPERFICIAL):
            self.record.add("closures", responsible)
            self.record.add("sat_sum", responsible, sat)
            self.record.add("sat_n", responsible)
            if state == State.RESOLVED:
                self.record.add("resolved", responsible)
            whistled = cs.whistled[idx] & (cs.level[idx] == Level.STREET)
            self.record.add("local_sum", responsible[whistled], sat[whistled])
            self.record.add("local_n", responsible[whistled])
        counted = ~np.isnan(sat)
        self._today[metrics.OUTCOME_COUNTER[state]] += len(idx)
        if counted.any():
            c = idx[counted]
            dept = cs.needs_dept[c]
            self._today["outcomes"] += len(c)
            self._today["satisfaction_sum"] += float(sat[counted].sum())
            self._today["dept_outcomes"] += int(dept.sum())
            self._today["dept_satisfaction_sum"] += float(sat[counted][dept].sum())
            if state == State.RESOLVED:
                self._today["outcomes_resolved"] += len(c)
                self._today["dept_resolved"] += int(dept.sum())
            self._closed_today.append(c)
        self._release(idx)

    def _give_up_and_reopen(self) -> None:
        cs, L = self.table, self.p.lifecycle
        idx = cs.open_index()
        act = idx[cs.state[idx] == State.ACTIVE]
        distrust = 1.0 - self.population.trust[cs.parties[act, 0]]
        give_up = self.streams.day("withdrawal", self.day).random(len(act)) < L.p_withdraw * distrust
        self._close(act[give_up], State.WITHDRAWN)
        rng = self.streams.day("reopening", self.day)
        # superficial closures may come back, worse
        n = cs.n
        since = self.day - cs.closed[:n]
        sup = np.flatnonzero((cs.state[:n] == State.SUPERFICIAL) & (since > 0) & (since <= L.reopen_window))
        back = sup[rng.random(len(sup)) < L.p_reopen]
        if len(back):
            cs.state[back] = State.ACTIVE
            cs.closed[back] = -1
            cs.satisfaction[back] = np.nan
            cs.outcome_level[back] = -1
            cs.outcome_handler[back] = -1
            cs.reopened[back] += 1
            cs.severity[back] = np.minimum(cs.severity[back] + L.reopen_severity, 1.0)
            cs.level[back] = Level.GRASSROOTS
            cs.tried[back] = 0
            cs.arrived[back] = self.day
            self._release(back)
            cs.wait_until[back] = self.day + 1
            self._today["reopened"] += len(back)

    def _update_residents_after_closures(self) -> None:
        """Parties judge the outcome; their neighbours take part of that judgement (word of mouth)."""
        if not self._closed_today:
            return
        cs = self.table
        idx = np.concatenate(self._closed_today)
        self.population.judge(cs.parties[idx], cs.satisfaction[idx].astype(np.float32),
                              cs.state[idx] == State.RESOLVED, self.p.residents)

    # 10. evaluation --------------------------------------------------------------------------------

    def _evaluate(self) -> None:
        """Scores and learning; burnout and turnover of community workers."""
        ev, w = self.p.evaluation, self.p.workforce
        pay = payoffs(self.record, self.strategy, self.levers, ev)
        self.learner.update(self.strategy, pay, ev, self.streams.day("learning", self.day))
        # workforce: utilisation over the period drives burnout, burnout drives turnover (C9)
        rng = self.streams.day("turnover", self.day)
        years = ev.period / 365.0
        cu = self.units.community_unit(np.arange(self.territory.n_communities))
        fixed = np.array([c.fixed_share for c in self.communities])  # admin, patrols, paperwork
        util = fixed + (1.0 - fixed) * np.minimum(self.used[cu] / np.maximum(self.available[cu], EPS), 1.0)
        self.totals.utilisation.append(float(util.mean()))
        for c, u_c in zip(self.communities, util):
            c.burnout = min(1.0, c.burnout + w.burnout_gain) if u_c > 0.9 else max(0.0, c.burnout - w.burnout_recovery)
        burnout = np.array([c.burnout for c in self.communities])
        present = np.array([max(c.staff - c.vacancies, 0.0) for c in self.communities])
        p_leave = 1.0 - np.exp(-(w.turnover_base + w.burnout_turnover * burnout) * years)
        leavers = rng.binomial(np.floor(present).astype(np.int64), p_leave) + (rng.random(len(present)) < (present % 1) * p_leave)
        vacancies = np.array([c.vacancies for c in self.communities]) + leavers
        refill = rng.binomial(np.ceil(vacancies).astype(np.int64), 1.0 - np.exp(-ev.period / w.vacancy_days))
        refill = np.minimum(refill, vacancies)
        for c, gone, back, vac in zip(self.communities, leavers, refill, vacancies):
            c.vacancies = float(vac - back)
            c.left_total += float(gone)
            workers = max(c.staff - c.vacancies, EPS)
            c.new_share = min(1.0, c.new_share * (1 - years) + back / workers)
        self.totals.worker_years += float(present.sum()) * years
        self.totals.workers_left += float(leavers.sum())
        new_share = np.array([c.new_share for c in self.communities], dtype=np.float32)
        self.community_skill[:] = 1.0 - (1.0 - w.new_worker_skill) * new_share
        self._cost = None
        self.record.reset()
        self.used[:] = 0.0
        self.available[:] = 0.0

    # 11. data collection ---------------------------------------------------------------------------

    def _collect(self) -> None:
        self._rows.append(metrics.day_row(self))
        self.totals.add_day(self)

    # ------------------------------------------------------------------------------------------
    # API
    # ------------------------------------------------------------------------------------------

    def check_invariants(self) -> list[str]:
        """Consistency checks of the current state; returns the violations found (empty if none)."""
        cs, pop, n = self.table, self.population, self.table.n
        state, closed = cs.state[:n], cs.closed[:n]
        problems = []
        if ((state < 0) | (state >= len(State))).any():
            return ["a case has an unknown state"]
        counts = np.bincount(state, minlength=len(State))
        created = sum(r["new_cases"] for r in self._rows)  # as counted when they emerged
        if created != counts[: State.ACTIVE + 1].sum() + counts[State.ACTIVE + 1:].sum():
            problems.append("cases created != open + closed")
        terminal = state > State.ACTIVE
        if ((closed >= 0) != terminal).any():
            problems.append("closing day set for an open case or missing for a closed one")
        if ((state == State.ACTIVE) & (cs.detected[:n] < 0)).any():
            problems.append("an active case was never detected")
        if ((cs.holder[:n] >= 0) & (state != State.ACTIVE)).any():
            problems.append("a unit holds a case that is not active")
        for name, arr in (("trust", pop.trust), ("grievance", pop.grievance)):
            if not ((arr >= 0) & (arr <= 1)).all():
                problems.append(f"{name} outside [0, 1]")
        if (self.capacity < 0).any() or (cs.work[:n] < 0).any():
            problems.append("negative capacity or work")
        if (self.queue_lengths() < 0).any():
            problems.append("negative queue")
        sev = cs.severity[:n]
        if not ((sev >= 0) & (sev <= 1)).all():
            problems.append("severity outside [0, 1]")
        return problems

    def queue_lengths(self) -> np.ndarray:
        cs = self.table
        idx = cs.open_index()
        held = idx[cs.holder[idx] >= 0]
        return np.bincount(cs.holder[held], minlength=self.units.n)

    def timeseries(self):
        """One row per simulated day (pandas DataFrame)."""
        return metrics.timeseries(self._rows)

    def cases(self):
        """One row per case (pandas DataFrame): the case log."""
        return metrics.case_log(self)

    def summary(self) -> dict:
        """The run's KPIs (see ``metrics.summary``)."""
        return metrics.summary(self)

    def resident(self, index: int) -> Resident:
        """A Mesa agent view of one resident (reads and writes the population arrays)."""
        if not 0 <= index < self.population.n:
            raise IndexError(f"resident {index} does not exist (0..{self.population.n - 1})")
        if index not in self._resident_views:
            self._resident_views[index] = Resident(self, index)
        return self._resident_views[index]

    def case(self, index: int) -> CaseView:
        return CaseView(self.table, index)

    def unit(self, index: int):
        """The Mesa agent behind a unit index (community, street, department...)."""
        return self.units_by_index.get(int(index))
