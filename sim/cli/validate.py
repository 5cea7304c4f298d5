"""``cogov validate``: check scenario files without running them."""

from __future__ import annotations

from pathlib import Path

from ..params import ScenarioError, load_scenario
from .common import fail


def add_parser(sub) -> None:
    val = sub.add_parser("validate", help="check scenario files without running them")
    val.add_argument("files", nargs="+", metavar="FILE", help="scenario TOML files to check")
    val.set_defaults(func=cmd_validate)


def cmd_validate(args) -> int:
    bad = 0
    for f in args.files:
        try:
            sc = load_scenario(Path(f))
        except ScenarioError as exc:
            fail(str(exc))
            bad += 1
            continue
        changes = f"{len(sc.schedule)} scheduled change{'s' * (len(sc.schedule) != 1)}"
        print(f"ok: {f} (name {sc.name!r}, preset {sc.preset}, {sc.days} days, {changes})")
    return 2 if bad else 0
