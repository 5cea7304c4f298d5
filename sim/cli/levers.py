"""``cogov levers``: the lever registry (``sim/registry.py``) as a table, or JSON."""

from __future__ import annotations

from .common import aligned, print_json

WHAT = "reform levers: label, range, unit, where each acts, its cost"


def add_registry_parser(sub, name: str, what: str, func) -> None:
    """The parser of a registry command (``cogov levers``, ``cogov kpis``): ``--lang``, ``--json``."""
    reg = sub.add_parser(name, help=f"list the {what}",
                         description=f"Print the {name} registry (sim/registry.py) as a table: {what}.")
    reg.add_argument("--lang", choices=("en", "zh"), default="en", help="language of labels (default en)")
    reg.add_argument("--json", action="store_true", help="print a JSON list of objects instead (every field)")
    reg.set_defaults(func=func)


def add_parser(sub) -> None:
    add_registry_parser(sub, "levers", WHAT, cmd_levers)


def cmd_levers(args) -> int:
    from ..registry import LEVERS, records, unit_label
    from ..report.i18n import t

    if args.json:
        print_json(records(LEVERS))
        return 0
    L = args.lang
    head = ["lever", "label", "range", "unit", "mechanisms", "cost", "cost_params"]
    rows = [[t("registry.lever", L)] + [t(f"registry.{h}", L) for h in head[1:]]]
    for lv in LEVERS.values():
        rows.append([lv.name, lv.label(L), f"{lv.low:g}–{lv.high:g}", unit_label(lv.unit, L), ", ".join(lv.mechanisms),
                     lv.cost(L), ", ".join(lv.cost_params) or "—"])
    print(aligned(rows))
    return 0
