"""``cogov scenarios``: the built-in scenarios, one line each."""

from __future__ import annotations

from ..params import ScenarioError, load_scenario, scenarios_dir


def add_parser(sub) -> None:
    lst = sub.add_parser("scenarios", help="list the built-in scenarios")
    lst.set_defaults(func=cmd_scenarios)


def cmd_scenarios(args) -> int:
    for f in sorted(scenarios_dir().glob("*.toml")):
        try:
            sc = load_scenario(f)
            print(f"{f.stem:<22} {sc.description}")
        except ScenarioError as exc:
            print(f"{f.stem:<22} INVALID: {exc}")
    return 0
