"""``cogov kpis``: the KPI registry (``sim/registry.py``) as a table, or JSON."""

from __future__ import annotations

from .common import aligned, print_json
from .levers import add_registry_parser

WHAT = ("KPIs: label, unit, direction of better, format, kind, scaling, minimum important difference (MID; "
        "--json gives each MID's reason), family (KPIs that measure one fact; the comparison report counts it once)")


def add_parser(sub) -> None:
    add_registry_parser(sub, "kpis", WHAT, cmd_kpis)


def cmd_kpis(args) -> int:
    from ..registry import GROUPS, KPIS, records, unit_label
    from ..report.i18n import t

    if args.json:
        print_json(records(KPIS))
        return 0
    L = args.lang
    better = {1: "↑ " + t("table.higher", L), -1: "↓ " + t("table.lower", L), 0: t("table.neither", L)}
    yes_no = {True: t("registry.yes", L), False: t("registry.no", L)}
    head = ["kpi", "label", "unit", "better", "kind", "format", "scales", "source", "mid", "group"]
    rows = [[t(f"registry.{h}", L) for h in head]]
    for k in KPIS.values():
        rows.append([k.name, k.label(L), unit_label(k.unit, L), better[k.better], k.kind, k.fmt,
                     yes_no[k.scales_with_population], t("registry.daily" if k.daily else "registry.summary", L),
                     k.mid.text() if k.better else "", GROUPS[k.group].label(L) if k.group else ""])
    print(aligned(rows))
    return 0
