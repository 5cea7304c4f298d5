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

    # staff state kept in bulk (``Staffing``): vacancies, burnout, share of new staff, leavers so far
    vacancies = property(lambda self: float(self.model.staffing.vacancies[self.unit]))
    burnout = property(lambda self: float(self.model.staffing.burnout[self.unit]))
    new_share = property(lambda self: float(self.model.staffing.new_share[self.unit]))
    left_total = property(lambda self: float(self.model.staffing.left_total[self.unit]))

    @property
    def own_staff(self) -> float:
        """Staff posts of the unit's own that turnover acts on (staff moved in excluded)."""
        return self.staff

    @property
    def capacity(self) -> float:
        """Person-days available for case work today."""
        return float(self.model.capacity[self.unit])

    @property
    def queue(self) -> int:
        """Open cases this unit holds."""
        return int(self.model.queue_lengths()[self.unit])

    def step(self) -> None:
        """Set today's case capacity: staff present x share of time on cases x effort."""
        self.model.capacity[self.unit] = max(self.staff - self.vacancies, 0.0) * (1.0 - self.paperwork) * self.effort

    def __repr__(self) -> str:
        return f"<{type(self).__name__} unit={self.unit} staff={self.staff:.1f} effort={self.effort:.2f}>"


class Community(Unit):
    """社区/村居委会: community and grid workers, the council (自治) and its contract with a social org.

    Worker time is split among administrative burden, patrols, paperwork (traces for
    evaluation) and case work (``fixed_share`` is the share of time on the first three); data
    entry is part of each case's work. Workers burn out under sustained overload and leave
    (seed 004; ``Staffing``).
    """

    def __init__(self, model, index: int, residents: int, workers: float):
        super().__init__(model, model.units.community_unit(index), workers)
        self.index = int(index)
        self.residents = int(residents)
        self.moved_in = 0.0        # staff moved down with devolved work (人随事走)
        self.patrol_days = 0.0
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

    @property
    def fixed_share(self) -> float:
        return float(self.model.staffing.fixed_share[self.unit])

    @fixed_share.setter
    def fixed_share(self, v: float) -> None:
        self.model.staffing.fixed_share[self.unit] = v


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
        self.fixed_share = self.paperwork
        present = max(self.staff - self.vacancies, 0.0) + self.moved_in
        m.capacity[self.unit] = present * (1.0 - self.paperwork) * self.effort

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

    @property
    def own_staff(self) -> float:
        return max(self.staff - self.moved_out, 0.0)

    def step(self) -> None:
        m = self.model
        self.fixed_share = self.paperwork
        present = max(self.own_staff - self.vacancies, 0.0)
        m.capacity[self.unit] = present * (1.0 - self.paperwork) * self.effort

    @staticmethod
    def whistle_response(levers, h, n, tie) -> np.ndarray:
        """Daily chance departments report to a street's whistle (部门报到), for street - department ties
        of strength ``tie``: whistle power over the mean delay ``whistle_days``, ``whistle_local_weight``
        of it only as far as the street's rating counts in their evaluation (w_local), and from
        ``whistle_tie_floor`` of it with no tie to all of it with a full tie (MODEL §12.2)."""
        k = h.whistle_local_weight
        tie_factor = n.whistle_tie_floor + (1.0 - n.whistle_tie_floor) * np.asarray(tie, dtype=float)
        return np.minimum(1.0, levers.whistle_power * ((1.0 - k) + k * levers.w_local) * tie_factor / n.whistle_days)

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

class Staffing:
    """The staff of every unit, in bulk (arrays over the unit index space): vacancies, burnout, the
    share of staff hired within the last year, leavers so far, the share of time on fixed duties
    (administration, patrols, paperwork), and the skill multiplier that new staff lower.

    Every evaluation period each staffed evaluated unit (community, street, department) feels its
    load: a period of overload (utilisation above ``overload_utilisation``) adds burnout, any other
    lets it recover (``feel_load``); then staff leave, more when burnt out, and vacancies are refilled
    by new, less skilled staff (``turnover``; seed 004, C9). Communities' workers have the turnover of
    front-line workers (``turnover_base``), streets' and departments' staff that of civil servants
    (``staff_turnover_base``); burnout adds the same to both.
    """

    def __init__(self, n_units: int):
        self.vacancies = np.zeros(n_units)
        self.burnout = np.zeros(n_units)
        self.new_share = np.zeros(n_units)
        self.left_total = np.zeros(n_units)
        self.fixed_share = np.zeros(n_units)
        self.skill = np.ones(n_units, dtype=np.float32)

    @staticmethod
    def utilisation(fixed: np.ndarray, used: np.ndarray, available: np.ndarray) -> np.ndarray:
        """Share of staff time taken over the period: fixed duties, plus the share of case capacity used."""
        return fixed + (1.0 - fixed) * np.minimum(used / np.maximum(available, EPS), 1.0)

    @staticmethod
    def feel_load(burnout: np.ndarray, utilisation: np.ndarray, w) -> np.ndarray:
        """Burnout after a period: up by ``burnout_gain`` after overload, else down by ``burnout_recovery``."""
        return np.where(utilisation > w.overload_utilisation, np.minimum(1.0, burnout + w.burnout_gain),
                        np.maximum(0.0, burnout - w.burnout_recovery))

    @staticmethod
    def turnover(staff: np.ndarray, vacancies: np.ndarray, burnout: np.ndarray, new_share: np.ndarray,
                 base: np.ndarray, rng: np.random.Generator, w, period: int):
        """One period of ``period`` days: staff present leave with yearly hazard ``base`` +
        ``burnout_turnover`` x burnout; vacancies are refilled with mean delay ``vacancy_days``; the
        newly hired raise the share of new staff, which ages out over a year. Returns the staff present
        at the start, the leavers, and the new vacancies and share of new staff."""
        years = period / DAYS_PER_YEAR
        present = np.maximum(staff - vacancies, 0.0)
        p_leave = 1.0 - np.exp(-(base + w.burnout_turnover * burnout) * years)
        leavers = rng.binomial(np.floor(present).astype(np.int64), p_leave) \
            + (rng.random(len(present)) < (present % 1) * p_leave)
        vac = vacancies + leavers
        refill = rng.binomial(np.ceil(vac).astype(np.int64), 1.0 - np.exp(-period / w.vacancy_days))
        refill = np.minimum(refill, vac)
        vac = vac - refill
        workers = np.maximum(staff - vac, EPS)
        new = np.minimum(1.0, new_share * (1 - years) + refill / workers)
        return present, leavers.astype(float), vac, new

    def skill_of(self, w) -> np.ndarray:
        """Skill multiplier of each unit's staff: new staff have ``new_worker_skill`` for a year."""
        return (1.0 - (1.0 - w.new_worker_skill) * self.new_share).astype(np.float32)


def build_actors(model) -> None:
    """Create the organisations of the model's territory, staffed per resident (``[structure]``),
    and register them on the model (``communities``, ``streets``, ``departments``...)."""
    t, u, s, n = model.territory, model.units, model.p.structure, model.population.n
    model.staffing = Staffing(u.n)
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
