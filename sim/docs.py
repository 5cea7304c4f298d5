"""Reference tables for ``docs/ODD.md``, generated from the code.

Every scenario parameter is declared once, in ``sim/params.py``, with a description that reads
"meaning [unit] (source)". This module turns that schema into Markdown tables (name, default,
allowed range, unit, meaning, source), adds the structure presets and the case types of
``sim/disputes.py`` and the lever and KPI registries of ``sim/registry.py``, and rewrites the part of ``docs/ODD.md`` between the markers
``<!-- parameters:start -->`` and ``<!-- parameters:end -->``::

    python -m sim.docs            # rewrite docs/ODD.md
    python -m sim.docs --check    # exit 1 if docs/ODD.md is out of date

It imports only ``sim.params``, ``sim.registry`` and ``sim.disputes`` (numpy only): no model,
no Mesa, no plotting.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from .disputes import MAX_PARTIES
from .params import DISTRICT_TYPE_ZH, PRESET_DISTRICTS, PRESETS, Scenario

START = "<!-- parameters:start -->"
END = "<!-- parameters:end -->"

#: The scenario's parameter sections, in the order of the TOML file, with a heading each.
SECTIONS: dict[str, str] = {
    "structure": "Structure: territory, staffing, social network (MODEL §2)",
    "districts": "Districts: types, density, dispute mix, staffing (MODEL §12.7)",
    "levers": "Levers: what a reform changes (MODEL §5)",
    "emergence": "Emergence of disputes and demands (MODEL §3.1)",
    "detection": "Detection channels (MODEL §3.3)",
    "lifecycle": "Case lifecycle: brewing, eruption, withdrawal, escalation, reopening (MODEL §3)",
    "handling": "Handling, authority, routing, coordination, deadlines (MODEL §3.4-§3.7)",
    "network": "The organisational network: shared data and working ties (MODEL §12.2)",
    "overload": "Overload: triage, rushed work, shortcuts (MODEL §12.3, §12.4)",
    "residents": "Residents: trust, grievance, mobilisation, satisfaction, volunteers (MODEL §4)",
    "workforce": "Workforce: time budget, data entry, burnout, turnover (MODEL §2.2, §5)",
    "evaluation": "Evaluation (考核) and learning (MODEL §5)",
    "hotline": "The 12345 hotline (接诉即办): dispatch, time limits, callbacks (MODEL §12.6)",
    "costs": "Costs (MODEL §5, §7)",
}

#: Top-level scalar fields of a scenario file (``schedule`` is described in the ODD text).
TOP_LEVEL = ("name", "description", "description_zh", "preset", "days", "seed")


def split_description(text: str | None) -> tuple[str, str, str]:
    """Split a field description "meaning [unit] (source)" into its three parts.

    The source is the last parenthesised group when the text ends with one, the unit the
    last bracketed group just before it. Either may be missing; an earlier parenthesis
    (e.g. "(small world)") stays in the meaning.

    Returns:
        (meaning, unit, source), each stripped; missing parts are "".
    """
    rest = (text or "").strip()
    source = unit = ""
    inner, rest2 = _trailing_group(rest, "(", ")")
    if inner is not None:
        source, rest = inner, rest2
    inner, rest2 = _trailing_group(rest, "[", "]")
    if inner is not None:
        unit, rest = inner, rest2
    return rest.strip(), unit.strip(), source.strip()


def _trailing_group(text: str, open_: str, close: str) -> tuple[str | None, str]:
    """If ``text`` ends with a balanced ``open_ ... close`` group, return (inside, text before it)."""
    text = text.rstrip()
    if not text.endswith(close):
        return None, text
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        ch = text[i]
        if ch == close:
            depth += 1
        elif ch == open_:
            depth -= 1
            if depth == 0:
                if i == 0:  # the whole text is one group: keep it as the meaning
                    return None, text
                return text[i + 1: -1], text[:i].rstrip()
    return None, text


def allowed_range(field: FieldInfo) -> str:
    """The field's bounds in interval notation, e.g. ``[0, 1]``, ``(0, ∞)``; the choices of a
    ``Literal``; or "any"."""
    if get_origin(field.annotation) is Literal:
        return "one of " + ", ".join(f"`{v}`" for v in get_args(field.annotation))
    lo = hi = None
    lo_open = hi_open = False
    for m in field.metadata:
        if getattr(m, "ge", None) is not None:
            lo, lo_open = m.ge, False
        if getattr(m, "gt", None) is not None:
            lo, lo_open = m.gt, True
        if getattr(m, "le", None) is not None:
            hi, hi_open = m.le, False
        if getattr(m, "lt", None) is not None:
            hi, hi_open = m.lt, True
    if lo is None and hi is None:
        return "any"
    left = "(-∞" if lo is None else ("(" if lo_open else "[") + _number(lo)
    right = "∞)" if hi is None else _number(hi) + (")" if hi_open else "]")
    return f"{left}, {right}"


def _number(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value)) if abs(value) >= 1 or value == 0 else repr(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    return repr(value)


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.default
    if value is None:
        return "from preset"
    if isinstance(value, str):
        return f'"{value}"' if value else '""'
    if isinstance(value, float):
        return repr(value)
    return _number(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def section_table(name: str, model: type[BaseModel]) -> str:
    """One Markdown table: every field of a scenario section."""
    lines = ["| parameter | default | range | unit | meaning | source |", "|---|---|---|---|---|---|"]
    for field_name, field in model.model_fields.items():
        meaning, unit, source = split_description(field.description)
        lines.append("| " + " | ".join(_cell(x) for x in (
            f"`{name}.{field_name}`" if name else f"`{field_name}`", _default(field), allowed_range(field),
            unit, meaning, source or "—")) + " |")
    return "\n".join(lines)


def _section_model(name: str) -> type[BaseModel]:
    ann = Scenario.model_fields[name].annotation
    if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
        raise TypeError(f"scenario field {name!r} is not a parameter section")
    return ann


def parameter_table() -> str:
    """Markdown tables of every scenario parameter, built from the schema in ``sim/params.py``.

    One table for the top-level fields, then one per section (``[structure]``, ``[levers]``,
    ...), each row giving the TOML key, its default, the allowed range (from the field's
    ``ge``/``gt``/``le``/``lt`` constraints), and the unit, meaning and source parsed from
    its description.
    """
    parts = ["#### Top level of a scenario file", "",
             "| parameter | default | range | unit | meaning | source |", "|---|---|---|---|---|---|"]
    for field_name in TOP_LEVEL:
        field = Scenario.model_fields[field_name]
        meaning, unit, source = split_description(field.description)
        parts.append("| " + " | ".join(_cell(x) for x in (
            f"`{field_name}`", _default(field), allowed_range(field), unit, meaning, source or "—")) + " |")
    parts.append("")
    for name in Scenario.model_fields:
        ann = Scenario.model_fields[name].annotation
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            continue
        title = SECTIONS.get(name, name)
        parts += [f"#### `[{name}]` {title}", "", section_table(name, _section_model(name)), ""]
    missing = [n for n in SECTIONS if n not in Scenario.model_fields]
    if missing:
        raise KeyError(f"sections documented but absent from the schema: {', '.join(missing)}")
    return "\n".join(parts).rstrip() + "\n"


def preset_table() -> str:
    """The structure presets (``sim.params.PRESETS``) as a Markdown table."""
    keys = ("districts", "streets", "communities", "grids", "population")
    lines = ["| preset | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name, counts in PRESETS.items():
        lines.append(f"| `{name}` | " + " | ".join(f"{counts[k]:,}" for k in keys) + " |")
    return "\n".join(lines) + "\n"


def district_table() -> str:
    """The districts of each preset (``sim.params.PRESET_DISTRICTS``) as a Markdown table."""
    lines = ["| preset | district | zh | type | population (weight) |", "|---" * 5 + "|"]
    for preset, rows in PRESET_DISTRICTS.items():
        total = sum(r[3] for r in rows)
        for name, zh, kind, pop in rows:
            lines.append(f"| `{preset}` | `{name}` | {zh} | `{kind}` ({DISTRICT_TYPE_ZH[kind]}) | "
                         f"{pop:,} ({100 * pop / total:.1f}%) |")
    return "\n".join(lines) + "\n"


def case_type_table() -> str:
    """The case types of ``sim/disputes.py`` (``CASE_TYPES``) as a Markdown table."""
    from .disputes import CASE_TYPES, DOMAIN_ZH, DOMAINS  # numpy only, no model

    def domain(i: int) -> str:
        return f"{DOMAINS[i]} ({DOMAIN_ZH[i]})"

    total_d = sum(t.dispute_share for t in CASE_TYPES)
    total_q = sum(t.demand_share for t in CASE_TYPES)
    lines = ["| type | zh | dispute share | demand share | lead domain | co-domains | severity | p_group "
             "| local | p_dept | p_cross | work | growth |",
             "|---" * 13 + "|"]
    for t in CASE_TYPES:
        lines.append("| " + " | ".join((
            f"`{t.name}`", t.zh, f"{100 * t.dispute_share / total_d:.1f}%", f"{100 * t.demand_share / total_q:.1f}%",
            domain(t.lead), ", ".join(domain(i) for i in t.co) or "—", f"{t.severity:.2f}", f"{t.p_group:.2f}",
            f"{t.local:.2f}", f"{t.p_dept:.2f}", f"{t.p_cross:.2f}", f"{t.work:g}", f"{t.growth:g}")) + " |")
    return "\n".join(lines) + "\n"


CASE_TYPE_NOTES = """\
Columns: *dispute share* and *demand share* are the type's share among interpersonal disputes
and among demands on a unit (the raw weights in the code, normalised to 100%); *severity* the
mean initial severity; *p_group* the chance that a case is a group dispute
(`emergence.group_min_parties`–{max_parties} parties); *local* how well local means (resident
council, mediation) can settle it (it multiplies mediators' skill, and social organisations take
only types with local ≥ `handling.so_min_local`); *p_dept* the chance that an interpersonal dispute
needs a department (a demand needs one with probability floor + (1 − floor) × p_dept, floor =
`emergence.demand_dept_floor`); *p_cross* the chance that a department case needs two or more
departments; *work* person-days of work at severity 1 − `handling.work_severity_offset` (scaled by
`handling.work_scale`); *growth* the relative speed of brewing.
""".format(max_parties=MAX_PARTIES)


def lever_table() -> str:
    """The lever registry (``sim/registry.py``): where each lever acts and what it costs."""
    from .registry import LEVERS

    lines = ["| lever | 中文 | range | acts in (`sim/mechanisms/`) | cost or risk | priced by |", "|---" * 6 + "|"]
    for lv in LEVERS.values():
        lines.append("| " + " | ".join(_cell(x) for x in (
            f"`{lv.name}`", lv.zh, f"{_number(lv.low)}–{_number(lv.high)}" + ("" if lv.unit == "0-1" else f" ({lv.unit})"), ", ".join(lv.mechanisms),
            lv.cost_en, ", ".join(f"`{p}`" for p in lv.cost_params) or "— (emerges)")) + " |")
    return "\n".join(lines) + "\n"


def kpi_table() -> str:
    """The KPI registry (``sim/registry.py``): label, unit, better direction, scaling."""
    from .registry import KPIS

    better = {1: "higher", -1: "lower", 0: "—"}
    lines = ["| KPI | label | 中文 | unit | better | grows with the city | table |", "|---" * 7 + "|"]
    for k in KPIS.values():
        lines.append("| " + " | ".join(_cell(x) for x in (
            f"`{k.name}`", k.en, k.zh, k.unit, better[k.better], "yes" if k.scales_with_population else "no",
            "daily series" if k.daily else "summary")) + " |")
    return "\n".join(lines) + "\n"


def district_kpi_table() -> str:
    """The columns of ``districts.parquet`` (``sim/registry.py``, ``DISTRICT_KPIS``)."""
    from .registry import DISTRICT_KPIS

    better = {1: "higher", -1: "lower", 0: "—"}
    lines = ["| column | label | 中文 | unit | better |", "|---" * 5 + "|"]
    for k in DISTRICT_KPIS.values():
        lines.append("| " + " | ".join(_cell(x) for x in (f"`{k.name}`", k.en, k.zh, k.unit, better[k.better])) + " |")
    return "\n".join(lines) + "\n"


def generated_block() -> str:
    """Everything that goes between the markers in ``docs/ODD.md``."""
    return "\n".join([
        "<!-- generated by `python -m sim.docs` from sim/params.py, sim/registry.py and sim/disputes.py; "
        "do not edit by hand -->",
        "",
        "### Structure presets",
        "",
        preset_table(),
        "### Districts of the presets (`sim/params.py`, `PRESET_DISTRICTS`)",
        "",
        "A district's residents are its weight's share of the structure's population; `tianjin`'s weights are "
        "the 2020 census populations (天津市第七次全国人口普查公报), `city`'s Tianjin's regional shares in four "
        "districts. `[districts]` `types` and `population_shares` replace a preset's.",
        "",
        district_table(),
        "### Case types (`sim/disputes.py`, `CASE_TYPES`)",
        "",
        case_type_table(),
        CASE_TYPE_NOTES,
        "### Scenario parameters (`sim/params.py`)",
        "",
        "Range: the values validation accepts (`[` `]` inclusive, `(` `)` exclusive). Unit, meaning and "
        "source are parsed from each field's description; a source `C1`..`C13` is a row of "
        "`CALIBRATION.md`, `seed 000`..`seed 004` a source paper, `assumption` a value chosen without "
        "data, to be calibrated or varied in sensitivity analysis.",
        "",
        parameter_table(),
        "### Levers: where they act and what they cost (`sim/registry.py`, `LEVERS`)",
        "",
        "Each lever's mechanisms are the modules of `sim/mechanisms/` whose rules read it (`information` is the "
        "completeness of reporting, read by routing and detection; `network` the platform's membership and the "
        "working ties, §7.19); its cost or "
        "risk is priced by the parameters named, or emerges from queues and learning. `cogov levers` prints the "
        "same table.",
        "",
        lever_table(),
        "### Outputs: the KPIs (`sim/registry.py`, `KPIS`)",
        "",
        "Every number of a run's `summary.json` and the daily series the report draws, with the direction the "
        "report calls better and whether it is a total that grows with the size of the simulated city. "
        "`cogov kpis` prints the same table with the display formats.",
        "",
        kpi_table(),
        "### Outputs per district (`districts.parquet`; `sim/registry.py`, `DISTRICT_KPIS`)",
        "",
        "One row per district after its identity (`district`, `name`, `name_zh`, `type`, `type_zh`); the same rows "
        "are the `districts` entry of `summary.json` (MODEL §12.7, §2.1).",
        "",
        district_kpi_table(),
    ])


def default_path() -> Path:
    return Path(__file__).resolve().parent.parent / "docs" / "ODD.md"


def render(text: str) -> str:
    """``text`` with the part between the markers replaced by the generated tables."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < 0 or end < start:
        raise ValueError(f"markers {START} ... {END} not found in order")
    return text[: start + len(START)] + "\n" + generated_block() + "\n" + text[end:]


def main(argv: list[str] | None = None) -> int:
    """Regenerate the parameter tables in ``docs/ODD.md`` (or check that they are current)."""
    parser = argparse.ArgumentParser(prog="python -m sim.docs", description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=default_path(),
                        help="the ODD file (default: docs/ODD.md)")
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if the file is out of date")
    args = parser.parse_args(argv)
    try:
        text = args.path.read_text(encoding="utf-8")
        new = render(text)
    except (OSError, ValueError) as exc:
        print(f"{args.path}: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if new != text:
            print(f"{args.path}: parameter tables are out of date; run python -m sim.docs", file=sys.stderr)
            return 1
        return 0
    if new != text:
        args.path.write_text(new, encoding="utf-8")
        print(f"{args.path}: parameter tables updated")
    else:
        print(f"{args.path}: parameter tables already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
