"""Costs (MODEL §5, §7, §12.3; ODD §7.17): what the city pays, at real scale.

Not a stage: the data collection adds one day's cost each day. Staff are paid whether busy or
not (community workers at their posts, street, centre and department staff present, staff moved
down); purchased services, automation and the moral programme cost per resident and year in
proportion to their levers; the platform costs per resident of an integrated community and per
integrated unit (``Network.platform_cost_year``). Drafting responsibility lists (法治) is a one-off cost in
person-days per district, paid when clarity rises.

Money can bind (``costs.funding``). New spending is measured against the baseline's levers
(``Levers()``): the programmes above their baseline cost, and staff moved down (人随事走). In a
``funded`` scenario it is added money: the moved staff are new posts and the programmes are paid
on top (``added_daily``). In a ``budget_neutral`` one the moved staff leave their departments (a
transfer) and the programmes' added cost is cut from existing staff: ``staff_cut`` is that cost
over ``staff_day``, as a share of all staff, and every staffed unit loses that share of its case
capacity (``Capacity``); spending below the baseline's saves money and hires nobody.
"""

from __future__ import annotations

from ..params import Levers
from .base import DAYS_PER_YEAR


class Costs:
    def __init__(self, model):
        self.model = model
        self.clarity_paid = 0.0       # responsibility clarity whose lists are drafted already
        self._daily: float | None = None
        self._added: float | None = None
        self._cut: float | None = None

    def on_levers(self) -> None:
        m = self.model
        lv, c = m.levers, m.p.costs
        if lv.responsibility_clarity > self.clarity_paid:
            days = c.drafting_days * (lv.responsibility_clarity - self.clarity_paid) * m.territory.n_districts
            m.totals.person_days += days  # real person-days (a district drafts its lists whatever the scale)
            m.totals.budget += days * c.staff_day
            self.clarity_paid = lv.responsibility_clarity
        self.invalidate()

    def invalidate(self) -> None:
        """Staff or levers changed: the daily cost is computed again when next asked for."""
        self._daily = None
        self._added = None
        self._cut = None

    def programmes(self, lv: Levers) -> float:
        """Yuan per day (simulated scale) of purchased services, platform, automation, moral programme."""
        m = self.model
        c = m.p.costs
        per_resident = (lv.social_org_funding * c.social_org_budget
                        + lv.automation * c.automation + lv.moral_education * c.moral_programme) / DAYS_PER_YEAR
        platform = m.mechanisms.network.platform_cost_year(lv.info_sharing).sum() / DAYS_PER_YEAR
        return per_resident * m.population.n + platform

    def added_programmes(self) -> float:
        """Yuan per day (simulated scale) the programmes cost beyond the baseline's levers."""
        return self.programmes(self.model.levers) - self.programmes(Levers())

    def staff_paid(self) -> float:
        """Staff the city pays (simulated scale): at their posts, moved down, before any budget cut."""
        m = self.model
        return (m.workers_total() + sum(max(s.staff - s.vacancies, 0.0) + s.moved_in for s in m.streets)
                + sum(x.staff for x in m.centres)
                + sum(max(d.own_staff - d.vacancies, 0.0) for d in m.departments))

    def staff_cut(self) -> float:
        """Share of all staff a budget-neutral scenario cuts to pay its added programmes (0 if funded)."""
        if self._cut is None:
            m = self.model
            added = self.added_programmes()
            if m.p.costs.funding != "budget_neutral" or added <= 0:
                self._cut = 0.0
            else:
                self._cut = min(1.0, added / max(m.p.costs.staff_day, 1.0) / max(self.staff_paid(), 1.0))
        return self._cut

    def added_daily(self) -> float:
        """Yuan per day (real scale) added to the baseline's budget: the programmes beyond the baseline's
        and new posts for staff moved down, less what a budget-neutral cut saves."""
        if self._added is None:
            m = self.model
            c = m.p.costs
            moved_in = sum(x.moved_in for x in m.communities) + sum(s.moved_in for s in m.streets)
            new_posts = moved_in - sum(d.moved_out for d in m.departments)
            cut = self.staff_cut() * self.staff_paid()
            self._added = (self.added_programmes() + (new_posts - cut) * c.staff_day) * m.p.structure.population_scale
        return self._added

    def daily(self) -> float:
        """Yuan spent per day: staff, purchased services, platform, moral programme (real scale)."""
        if self._daily is None:
            m = self.model
            c = m.p.costs
            staff = self.staff_paid() * (1.0 - self.staff_cut())
            self._daily = (staff * c.staff_day + self.programmes(m.levers)) * m.p.structure.population_scale
        return self._daily
