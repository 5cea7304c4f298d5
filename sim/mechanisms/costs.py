"""Costs (MODEL §5, §7; ODD §7.17): what the city pays, at real scale.

Not a stage: the data collection adds one day's cost each day. Staff are paid whether busy or
not (community workers at their posts, street, centre and department staff, staff moved
down); purchased services, the platform, automation and the moral programme cost per
resident and year in proportion to their levers. Drafting responsibility lists (法治) is a
one-off cost in person-days per district, paid when clarity rises.
"""

from __future__ import annotations

from .base import DAYS_PER_YEAR


class Costs:
    def __init__(self, model):
        self.model = model
        self.clarity_paid = 0.0       # responsibility clarity whose lists are drafted already
        self._daily: float | None = None

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

    def daily(self) -> float:
        """Yuan spent per day: staff, purchased services, platform, moral programme (real scale)."""
        if self._daily is None:
            m = self.model
            lv, c, n = m.levers, m.p.costs, m.population.n
            staff = (m.workers_total() + sum(s.staff + s.moved_in for s in m.streets)
                     + sum(x.staff for x in m.centres)
                     + sum(max(d.staff - d.moved_out, 0.0) for d in m.departments))
            per_resident = (lv.social_org_funding * c.social_org_budget + lv.info_sharing * c.platform
                            + lv.automation * c.automation + lv.moral_education * c.moral_programme) / DAYS_PER_YEAR
            self._daily = (staff * c.staff_day + per_resident * n) * m.p.structure.population_scale
        return self._daily
