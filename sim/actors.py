"""Organisational actors as Mesa agents (MODEL §2.2).

There are thousands of them, so they are ordinary Mesa agents with Python ``step`` methods.
Each holds its parameters, its state and its own decision rules: how it sets today's
capacity, whether a street whistles, how fast departments answer a whistle, when a party
committee convenes, how a community's workers burn out and leave. The decisions that the
vectorised case processing needs every day (capacity, effort, superficial-closure and
concealment propensities) live in the model's per-unit arrays, and each agent reads and
writes its own entry through properties. Rules that draw for thousands of units at once are
class methods over a list of agents. Cases are never looped over here.
"""

from __future__ import annotations

import mesa
import numpy as np

from .city import N_DOMAINS
from .disputes import DOMAINS, Level

#: Guards divisions by a count that may be zero; unit conversions (not behavioural numbers).
EPS = 1e-6
DAYS_PER_YEAR = 365.0
PER_1000 = 1000.0


class Unit(mesa.Agent):
    """An organisation that holds cases: its row in the model's unit arrays."""

    def __init__(self, model, unit: int, staff: float = 0.0):
        super().__init__(model)
        self.unit = int(unit)
        self.staff = float(staff)

    # decisions learned every evaluation period (sim/mechanisms/evaluation.py)
    effort = property(lambda self: float(self.model.effort[self.unit]),
                      lambda self, v: self.model.effort.__setitem__(self.unit, v))
    paperwork = property(lambda self: float(self.model.paperwork[self.unit]),
                         lambda self, v: self.model.paperwork.__setitem__(self.unit, v))
    superficial = property(lambda self: float(self.model.superficial[self.unit]),
                           lambda self, v: self.model.superficial.__setitem__(self.unit, v))
    conceal = property(lambda self: float(self.model.conceal[self.unit]),
                       lambda self, v: self.model.conceal.__setitem__(self.unit, v))

    @property
    def capacity(self) -> float:
        """Person-days available for case work today."""
        return float(self.model.capacity[self.unit])

    @property
    def queue(self) -> int:
        """Open cases this unit holds."""
        return int(self.model.queue_lengths()[self.unit])

    def step(self) -> None:
        """Set today's case capacity: staff x share of time on cases x effort."""
        self.model.capacity[self.unit] = self.staff * (1.0 - self.paperwork) * self.effort

    def __repr__(self) -> str:
        return f"<{type(self).__name__} unit={self.unit} staff={self.staff:.1f} effort={self.effort:.2f}>"


class Community(Unit):
    """社区/村居委会: community and grid workers, the council (自治) and its contract with a social org.

    Worker time is split among administrative burden, patrols, paperwork (traces for
    evaluation) and case work; data entry is part of each case's work. Workers burn out
    under sustained overload and leave (seed 004).
    """

    def __init__(self, model, index: int, residents: int, workers: float):
        super().__init__(model, model.units.community_unit(index), workers)
        self.index = int(index)
        self.residents = int(residents)
        self.vacancies = 0.0
        self.moved_in = 0.0        # staff moved down with devolved work (人随事走)
        self.burnout = 0.0
        self.new_share = 0.0       # share of workers hired within the last year
        self.left_total = 0.0      # workers who left so far
        self.patrol_days = 0.0
        self.fixed_share = 0.0     # share of time on administration, patrols and paperwork
        self.volunteers = 0
        self.party_members = 0

    @property
    def workers(self) -> float:
        return max(self.staff - self.vacancies, 0.0) + self.moved_in

    @property
    def council(self) -> int:
        return int(self.model.units.council(self.index))

    def step(self) -> None:
        """Split today's worker time; set the community's and its council's case capacity."""
        m, lv = self.model, self.model.levers
        stage = m.mechanisms.capacity
        admin = m.p.workforce.admin_share * (1.0 - lv.burden_reduction)
        patrol = m.p.detection.patrol_share
        self.fixed_share = min(1.0, admin + patrol + self.paperwork)
        case_share = 1.0 - self.fixed_share
        w = self.workers * self.effort
        m.capacity[self.unit] = w * case_share
        self.patrol_days = w * patrol
        stage.patrol_days[self.index] = self.patrol_days
        # resident council: self-governance plus the volunteer days given today
        council_days = lv.self_governance * self.residents / PER_1000
        m.capacity[self.council] = council_days + stage.volunteer_days[self.index]

    def feel_load(self, utilisation: float, w) -> None:
        """A period of overload (utilisation above ``overload_utilisation``) adds burnout; any other
        period lets it recover."""
        if utilisation > w.overload_utilisation:
            self.burnout = min(1.0, self.burnout + w.burnout_gain)
        else:
            self.burnout = max(0.0, self.burnout - w.burnout_recovery)

    @staticmethod
    def utilisation(communities: list["Community"], used: np.ndarray, available: np.ndarray) -> np.ndarray:
        """Share of each community's worker time taken over the period: fixed duties (administration,
        patrols, paperwork), plus the share of case capacity used."""
        unit = np.array([c.unit for c in communities])
        fixed = np.array([c.fixed_share for c in communities])
        return fixed + (1.0 - fixed) * np.minimum(used[unit] / np.maximum(available[unit], EPS), 1.0)

    @staticmethod
    def turnover(communities: list["Community"], rng: np.random.Generator, w, period: int):
        """Workers leave (more when burnt out) and vacancies are refilled over one period of
        ``period`` days; new hires count towards each community's ``new_share``. Returns the
        workers present at the start and the leavers, per community."""
        years = period / DAYS_PER_YEAR
        burnout = np.array([c.burnout for c in communities])
        present = np.array([max(c.staff - c.vacancies, 0.0) for c in communities])
        p_leave = 1.0 - np.exp(-(w.turnover_base + w.burnout_turnover * burnout) * years)
        leavers = rng.binomial(np.floor(present).astype(np.int64), p_leave) \
            + (rng.random(len(present)) < (present % 1) * p_leave)
        vacancies = np.array([c.vacancies for c in communities]) + leavers
        refill = rng.binomial(np.ceil(vacancies).astype(np.int64), 1.0 - np.exp(-period / w.vacancy_days))
        refill = np.minimum(refill, vacancies)
        for c, gone, back, vac in zip(communities, leavers, refill, vacancies, strict=True):
            c.vacancies = float(vac - back)
            c.left_total += float(gone)
            workers = max(c.staff - c.vacancies, EPS)
            c.new_share = min(1.0, c.new_share * (1 - years) + back / workers)
        return present, leavers


class SocialOrganisation(Unit):
    """社会组织: mediators paid from purchased services; skilled at mediation-type disputes."""

    def __init__(self, model, unit: int, residents_served: int):
        super().__init__(model, unit)
        self.residents_served = int(residents_served)

    def step(self) -> None:
        m = self.model
        budget = m.levers.social_org_funding * m.p.costs.social_org_budget * self.residents_served
        self.staff = budget / max(m.p.costs.social_org_day, EPS) / DAYS_PER_YEAR
        m.capacity[self.unit] = self.staff


class Street(Unit):
    """街道办 and its mediation centre (矛调中心): handles what its authority covers, else whistles."""

    def __init__(self, model, index: int, staff: float):
        super().__init__(model, model.units.street_unit(index), staff)
        self.index = int(index)
        self.moved_in = 0.0

    def step(self) -> None:
        m = self.model
        m.capacity[self.unit] = (self.staff + self.moved_in) * (1.0 - self.paperwork) * self.effort

    @staticmethod
    def whistles(levers) -> bool:
        """Streets whistle for the departments (街乡吹哨) for cases beyond their authority that need
        one, wherever whistles have any power; otherwise they pass such cases up."""
        return levers.whistle_power > 0


class Centre(Unit):
    """District or city mediation centre: triages and dispatches, handles what needs no department."""


class Department(Unit):
    """职能部门 (条): a domain's case staff at district or city level, its queue and its data."""

    def __init__(self, model, unit: int, domain: int, staff: float, district: int | None):
        super().__init__(model, unit, staff)
        self.domain = int(domain)
        self.district = district
        self.moved_out = 0.0

    @property
    def domain_name(self) -> str:
        return DOMAINS[self.domain]

    def step(self) -> None:
        m = self.model
        staff = max(self.staff - self.moved_out, 0.0)
        m.capacity[self.unit] = staff * (1.0 - self.paperwork) * self.effort

    @staticmethod
    def whistle_response(levers, h) -> float:
        """Daily chance departments report to a street's whistle (部门报到): whistle power over the mean
        delay, ``whistle_local_weight`` of it only as far as the street's rating counts in their
        evaluation (w_local)."""
        k = h.whistle_local_weight
        return min(1.0, levers.whistle_power * ((1.0 - k) + k * levers.w_local) / h.whistle_delay)

    def __repr__(self) -> str:
        where = "city" if self.district is None else f"district {self.district}"
        return f"<Department {self.domain_name} ({where}) staff={self.staff:.1f} effort={self.effort:.2f}>"


class PartyCommittee(mesa.Agent):
    """党委/党工委 at city, district or street level (战区制: first responsible for its territory).

    Holds a finite coordination attention: every ``meeting_interval`` days it convenes a joint
    meeting (联席会议) that unblocks the highest-severity cross-department cases referred to it,
    as many as its slots allow (attention x integration; seed 004's 两张皮 is the share lost to
    paperwork). Party members registered in communities (双报到) give volunteer days in
    proportion to the same attention x integration (in the model's capacity stage).
    """

    def __init__(self, model, level: Level, index: int, residents: int):
        super().__init__(model)
        self.level = Level(level)
        self.index = int(index)
        self.residents = int(residents)  # of its territory
        self.meetings = 0
        self.cases_unblocked = 0

    @property
    def slots(self) -> float:
        """Expected cases one meeting can settle: attention x integration, in proportion to the territory."""
        lv, h = self.model.levers, self.model.p.handling
        return h.meeting_slots * self.residents / 1e5 * lv.party_attention * lv.party_integration

    def step(self) -> None:
        m = self.model
        if m.day % m.p.handling.meeting_interval != 0:
            return
        self.meetings += 1
        expected = self.slots  # a fractional slot is a chance of one more case
        slots = int(expected) + int(m.streams.day("meetings", m.day).random() < expected % 1)
        self.cases_unblocked += m.mechanisms.coordination.convene(self.level, self.index, slots)

    def __repr__(self) -> str:
        return (f"<PartyCommittee {self.level.name.lower()} {self.index} slots={self.slots:.1f} "
                f"meetings={self.meetings}>")



def build_actors(model) -> None:
    """Create the organisations of the model's territory, staffed per resident (``[structure]``),
    and register them on the model (``communities``, ``streets``, ``departments``...)."""
    t, u, s, n = model.territory, model.units, model.p.structure, model.population.n
    # staffing per resident of a district's own units, by the district's type (MODEL §12.7)
    staffing = np.array([model.p.districts.of_type(k, "staffing") for k in t.district_type_names])
    per_community, per_street = staffing[t.community_district], staffing[t.street_district]
    model.communities = [Community(model, c, int(t.community_size[c]),
                                   t.community_size[c] / s.residents_per_worker * per_community[c])
                         for c in range(t.n_communities)]
    street_res = np.bincount(t.community_street, weights=t.community_size, minlength=t.n_streets)
    so_res = np.bincount(u.community_so - u.start["social_org"], weights=t.community_size,
                         minlength=u.sizes["social_org"])
    model.social_orgs = [SocialOrganisation(model, u.start["social_org"] + k, int(so_res[k]))
                         for k in range(u.sizes["social_org"])]
    model.streets = [Street(model, k, street_res[k] * per_street[k] / 1e4 * s.street_staff_per_10k)
                     for k in range(t.n_streets)]
    district_res = np.bincount(t.community_district, weights=t.community_size, minlength=t.n_districts)
    staffed = district_res * staffing  # residents weighted by the district type's staffing
    model.centres = [Centre(model, u.district_unit(d), staffed[d] / 1e5 * s.centre_staff_per_100k)
                     for d in range(t.n_districts)]
    model.centres.append(Centre(model, u.city_unit, n / 1e6 * s.city_staff_per_1m))
    model.departments = [Department(model, u.district_dept(d, k), k, staffed[d] / 1e5 * s.dept_staff_per_100k, d)
                         for d in range(t.n_districts) for k in range(N_DOMAINS)]
    model.departments += [Department(model, u.city_dept(k), k, n / 1e6 * s.city_dept_staff_per_1m, None)
                          for k in range(N_DOMAINS)]
    model.committees = [PartyCommittee(model, Level.STREET, k, street_res[k]) for k in range(t.n_streets)]
    model.committees += [PartyCommittee(model, Level.DISTRICT, d, district_res[d]) for d in range(t.n_districts)]
    model.committees.append(PartyCommittee(model, Level.CITY, 0, n))
    model.units_by_index = {a.unit: a for a in (*model.communities, *model.social_orgs, *model.streets,
                                                *model.centres, *model.departments)}
