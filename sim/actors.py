"""Organisational actors as Mesa agents (MODEL §2.2).

There are thousands of them, so they are ordinary Mesa agents with Python ``step`` methods.
Each holds its parameters and state; the decisions that the vectorised case processing
needs every day (capacity, effort, superficial-closure and concealment propensities) live
in the model's per-unit arrays, and each agent reads and writes its own entry through
properties. Cases are never looped over here: a unit only sets what it brings to the day.
"""

from __future__ import annotations

import mesa

from .disputes import DOMAINS, Handler, Level


class Unit(mesa.Agent):
    """An organisation that holds cases: its row in the model's unit arrays."""

    kind_name = "unit"

    def __init__(self, model, unit: int, staff: float = 0.0):
        super().__init__(model)
        self.unit = int(unit)
        self.staff = float(staff)

    # decisions learned every evaluation period (incentives.py)
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
        admin = m.p.workforce.admin_share * (1.0 - lv.burden_reduction)
        patrol = m.p.detection.patrol_share
        self.fixed_share = min(1.0, admin + patrol + self.paperwork)
        case_share = 1.0 - self.fixed_share
        w = self.workers * self.effort
        m.capacity[self.unit] = w * case_share
        self.patrol_days = w * patrol
        m.patrol_days[self.index] = self.patrol_days
        # resident council: self-governance plus the volunteer days given today
        council_days = lv.self_governance * self.residents / 1000.0
        m.capacity[self.council] = council_days + m.volunteer_days[self.index]


class SocialOrganisation(Unit):
    """社会组织: mediators paid from purchased services; skilled at mediation-type disputes."""

    def __init__(self, model, unit: int, residents_served: int):
        super().__init__(model, unit)
        self.residents_served = int(residents_served)

    def step(self) -> None:
        m = self.model
        budget = m.levers.social_org_funding * m.p.costs.social_org_budget * self.residents_served
        self.staff = budget / max(m.p.costs.social_org_day, 1e-9) / 365.0
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
        self.cases_unblocked += m.convene_joint_meeting(self.level, self.index, slots)

    def __repr__(self) -> str:
        return f"<PartyCommittee {self.level.name.lower()} {self.index} slots={self.slots:.1f} meetings={self.meetings}>"


HANDLER_OF_AGENT = {Community: Handler.COMMUNITY, SocialOrganisation: Handler.SOCIAL_ORG,
                    Street: Handler.STREET, Department: Handler.DEPARTMENT}
