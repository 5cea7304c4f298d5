"""The lever and KPI registries (sim/registry.py) and what reads them: the schema's levers, the
summary's KPIs, the named KPI lists of the report, compare, reproduce and the CLI, the text
catalogue, and the `cogov levers` / `cogov kpis` commands."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_model, make_scenario
from pydantic import ValidationError

from sim import CoGovernanceModel
from sim.experiments import claims
from sim import registry as R
from sim.cli import main as cli_main
from sim.params import LEVER_NAMES, Levers, Scenario
from sim.report import i18n

CJK = re.compile(r"[\u3400-\u9fff]")
SIM = Path(__file__).resolve().parents[1] / "sim"


@pytest.fixture(scope="module")
def run():
    """A classroom model after 30 days (as the issue lists the summary's keys)."""
    return CoGovernanceModel("baseline", seed=1, preset="classroom", days=30).run()


# ------------------------------------------------------------------------------------------------
# levers
# ------------------------------------------------------------------------------------------------

def test_the_lever_registry_has_exactly_the_schemas_levers_in_its_order():
    assert tuple(R.LEVERS) == LEVER_NAMES == tuple(Levers.model_fields)
    assert all(name == lv.name for name, lv in R.LEVERS.items())


@pytest.mark.parametrize("name", LEVER_NAMES)
def test_each_levers_range_is_what_the_schema_accepts(name):
    lv = R.LEVERS[name]
    assert math.isfinite(lv.low) and math.isfinite(lv.high) and lv.low < lv.high
    Levers.model_validate({name: lv.low})
    Levers.model_validate({name: lv.high})
    for outside in (lv.low - 1e-9, lv.high + 1e-9):
        with pytest.raises(ValidationError):
            Levers.model_validate({name: outside})


def test_lever_units_are_the_schemas():
    for name, lv in R.LEVERS.items():
        assert f"[{lv.unit}]" in Levers.model_fields[name].description, name
    assert R.LEVERS["incentive_strength"].unit == "multiplier"
    assert (R.LEVERS["volunteer_rate"].low, R.LEVERS["volunteer_rate"].high) == (0.0, 0.5)


def test_levers_act_in_known_mechanisms_and_name_real_cost_parameters():
    assert len(set(R.MECHANISMS)) == len(R.MECHANISMS) == 13  # the stages and the completeness of reporting
    assert set(R.INFORMATION_READERS) <= set(R.MECHANISMS)
    for lv in R.LEVERS.values():
        assert lv.mechanisms and set(lv.mechanisms) <= set(R.MECHANISMS), lv.name
        assert len(set(lv.mechanisms)) == len(lv.mechanisms), lv.name
        assert lv.cost_en.strip() and lv.cost_zh.strip() and CJK.search(lv.cost_zh), lv.name
        for dotted in lv.cost_params:
            R.schema_field(dotted)  # KeyError if the schema has no such field
    with pytest.raises(KeyError):
        R.schema_field("costs.no_such_cost")
    # spot checks against the code (sim/model.py, sim/actors.py)
    assert R.LEVERS["authority_devolution"].mechanisms == ("routing", "capacity")
    assert "information" in R.LEVERS["burden_reduction"].mechanisms
    assert "evaluation" in R.LEVERS["w_local"].mechanisms and "routing" in R.LEVERS["w_local"].mechanisms
    assert "routing" not in R.LEVERS["party_integration"].mechanisms
    assert set(R.LEVERS["info_sharing"].cost_params) == {"workforce.data_entry_days", "costs.platform",
                                                         "costs.platform_unit"}
    assert "network" in R.LEVERS["info_sharing"].mechanisms


def test_every_cost_of_the_schemas_costs_section_prices_some_lever():
    """A yuan figure in ``Costs`` that no lever names would be a cost nobody can find."""
    named = {p for lv in R.LEVERS.values() for p in lv.cost_params}
    costs = {f"costs.{f}" for f in Scenario.model_fields["costs"].annotation.model_fields}
    assert costs - named == {"costs.social_org_day"}  # the day rate turns the budget into mediators


def test_lever_labels_in_both_languages():
    for lv in R.LEVERS.values():
        assert lv.en.strip() and not CJK.search(lv.en), lv.name  # English labels draw without a CJK font
        assert CJK.search(lv.zh), lv.name
        assert lv.label("en") == lv.en and lv.label("zh") == lv.zh
    with pytest.raises(ValueError):
        R.LEVERS["info_sharing"].label("fr")


# ------------------------------------------------------------------------------------------------
# KPIs
# ------------------------------------------------------------------------------------------------

def test_every_number_of_the_summary_is_a_registered_kpi_and_vice_versa(run):
    summary = run.summary()
    numbers = [k for k, v in summary.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    assert "seed" in numbers  # an identifier, not a KPI (experiments.analysis.ID_COLUMNS)
    assert R.summary_kpis() == [k for k in numbers if k != "seed"]  # the same keys, in the summary's order
    assert not [k for k in summary if k in R.KPIS and R.KPIS[k].daily]


def test_daily_kpis_are_columns_of_the_time_series(run):
    daily = [k for k, v in R.KPIS.items() if v.daily]
    assert set(R.REPORT_SERIES) <= set(daily)
    assert set(daily) <= set(run.timeseries().columns)


def test_kpi_fields_are_valid():
    for k in R.KPIS.values():
        assert k.better in (-1, 0, 1), k.name
        assert k.kind in R.KINDS, k.name
        assert isinstance(k.scales_with_population, bool), k.name
        assert isinstance(k.fmt.format(1234.5678), str), k.name
        assert k.unit in R.UNIT_LABELS, k.name
        assert k.en.strip() and not CJK.search(k.en), k.name
        assert CJK.search(k.zh), k.name
        low, high = k.range
        assert low == 0.0 and high in (1.0, math.inf), k.name
        if k.kind == "rate":
            assert k.unit == "share" and not k.scales_with_population, k.name
    for unit, text in R.UNIT_LABELS.items():
        assert set(text) == {"en", "zh"}, unit


def test_the_directions_chosen():
    """The directions the report and reproduce used to disagree on, and a few that must not move."""
    K = R.KPIS
    assert K["worker_utilisation_mean"].better == -1  # was 0 in report/compare.py, -1 in reproduce.py
    assert K["closure_rate_reported"].better == 0     # superficial closures inflate it
    assert K["share_resolved_street"].better == 0
    assert (K["resolution_rate"].better, K["median_days_to_resolve"].better, K["bounces"].better) == (1, -1, -1)
    assert K["cases_total"].scales_with_population and K["budget"].scales_with_population
    assert not K["cost_per_resolved"].scales_with_population and not K["disputes_per_1000_year"].scales_with_population


def test_totals_that_scale_with_population_grow_with_the_city():
    """A city four times the classroom's (residents, grids, communities, streets) over the same
    days: every KPI flagged as scaling grows about fourfold, every other one stays within a
    factor of three (a rate, a time, a per-resident figure or a ratio)."""
    days = 90
    # from the empty city (burn_in 0): which KPIs scale does not depend on the burn-in, and a burned-in
    # classroom's ~9 workers make its 90-day turnover a count of one or two leavers
    small = make_model(days=days, burn_in=0).run().summary()
    big = CoGovernanceModel(make_scenario(days=days, burn_in=0, structure={"population": 12_000, "grids": 192,
                                                                            "communities": 48, "streets": 12})).run().summary()
    checked = {True: 0, False: 0}
    for name in R.summary_kpis():
        a, b = small[name], big[name]
        if not (isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isfinite(a) and math.isfinite(b)):
            continue
        if R.KPIS[name].scales_with_population:
            if a >= 10:
                assert 2.0 <= b / a <= 8.0, (name, a, b)
                checked[True] += 1
        elif a > 0 and b > 0 and R.KPIS[name].kind not in ("rate", "index"):
            assert 1 / 3 <= b / a <= 3.0, (name, a, b)
            checked[False] += 1
    assert checked[True] >= 10 and checked[False] >= 5, checked


# ------------------------------------------------------------------------------------------------
# the named lists and their readers
# ------------------------------------------------------------------------------------------------

NAMED = {"RUN_TABLE": R.RUN_TABLE, "REPORT_KPIS": R.REPORT_KPIS, "REPORT_SERIES": R.REPORT_SERIES,
         "SWEEP_KPIS": R.SWEEP_KPIS}


@pytest.mark.parametrize("name", NAMED)
def test_named_kpi_lists_name_registered_kpis(name):
    kpis = NAMED[name]
    assert kpis and len(set(kpis)) == len(kpis), name
    assert set(kpis) <= set(R.KPIS), set(kpis) - set(R.KPIS)
    daily = {R.KPIS[k].daily for k in kpis}
    assert daily == ({True} if name == "REPORT_SERIES" else {False}), name


def test_the_report_kpis_keep_each_family_together_and_reproduce_uses_directed_kpis():
    """The comparison report judges a family once: its members in REPORT_KPIS stand side by side."""
    families = [R.KPIS[k].group for k in R.REPORT_KPIS if R.KPIS[k].group]
    assert families == sorted(families, key=families.index)  # each family in one run
    used = {r.kpi for c in claims.CLAIMS for r in c.rows}
    assert used <= set(R.KPIS)
    assert all(R.KPIS[k].better in (1, -1) for k in used)  # a claim's verdict needs a direction


def test_the_readers_have_no_copy_of_their_own():
    """The old duplicated tables are gone from the modules that read the registries."""
    from sim import cli, metrics
    from sim.experiments import compare
    from sim.report import report
    for module, names in ((metrics, ["KPI_FORMATS"]), (compare, ["BETTER", "BANDS"]), (claims, ["BETTER"]),
                          (report, ["MAIN_KPIS", "BETTER", "RANGES"]), (cli, ["MAIN_KPIS"]),
                          (i18n, ["KPI_LABELS", "KPI_KIND", "DECIMALS"])):
        for name in names:
            assert not hasattr(module, name), f"{module.__name__}.{name}"
    assert compare.REPORT_KPIS is R.REPORT_KPIS and report.REPORT_KPIS is R.REPORT_KPIS


def test_the_run_table_prints_the_registrys_kpis_in_their_format(run):
    from sim.metrics import kpi_table
    lines = kpi_table({"baseline": run.summary()}).splitlines()
    assert [ln.split()[0] for ln in lines[1:]] == list(R.RUN_TABLE)
    s = run.summary()
    row = dict(ln.split() for ln in lines[1:])
    assert row["resolution_rate"] == f"{s['resolution_rate']:.3f}" and row["residents"] == f"{s['residents']:,}"


# ------------------------------------------------------------------------------------------------
# the text catalogue reads the registry
# ------------------------------------------------------------------------------------------------

def test_i18n_labels_kinds_and_units_come_from_the_registry():
    for k in R.KPIS.values():
        for lang in ("en", "zh"):
            assert i18n.kpi_label(k.name, lang) == i18n.t(k.name, lang) == k.label(lang)
        assert i18n.kpi_kind(k.name) == k.kind
    for lv in R.LEVERS.values():
        assert i18n.lever_label(lv.name, "zh") == lv.zh
    assert i18n.lever_label("evaluation", "en") == "Evaluation: traces → outcomes"  # the app's regime slider
    assert i18n.kpi_label("no_such_kpi", "en") == "no_such_kpi"
    assert i18n.fmt_number("resolution_rate", 0.5, "en", unit=True) == "50.0%"
    assert i18n.fmt_number("cost_per_resolved", 1234.4, "zh", unit=True) == "1,234元"
    assert i18n.kpi_header("worker_turnover", "en") == "Community worker turnover (per worker-year)"
    assert i18n.kpi_header("worker_turnover", "zh") == "社区工作者流失率（每人每年）"
    assert i18n.kpi_header("disputes_per_1000_year", "en").endswith("(per 1,000 residents per year)")
    assert i18n.kpi_header("median_days_to_resolve", "zh") == "解决用时中位数（天）"


def test_every_text_the_app_asks_for_is_in_the_catalogue():
    """The app's labels live in sim/report/i18n.py: each literal key it passes to t() exists in
    both languages (read from the source, so the app need not be importable here)."""
    source = (SIM / "app.py").read_text(encoding="utf-8")
    assert "TEXT" not in source  # no catalogue of its own
    calls = re.findall(r"\bt\(([^()]*?),\s*(?:lang|L|self\.lang|lang\.value)\)", source)
    keys = {k for call in calls for k in re.findall(r"""(?<!== )["']([\w.]+)["']""", call)}  # not compared
    keys |= set(re.findall(r'"(app\.[\w.]+)"', source))
    assert len(calls) >= 30 and len(keys) >= 30
    for key in keys:
        for lang in ("en", "zh"):
            assert i18n.t(key, lang), key


def test_the_registry_imports_only_params():
    code = ("import sys, sim.registry; print(sorted(m for m in sys.modules if m == 'sim' or m.startswith('sim.'))); "
            "print(sorted(m for m in ('numpy', 'pandas', 'mesa', 'matplotlib', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == [str(["sim", "sim.params", "sim.registry"]), "[]"]


# ------------------------------------------------------------------------------------------------
# cogov levers / cogov kpis
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command,registry", [("levers", R.LEVERS), ("kpis", R.KPIS)])
def test_json_lists_every_entry_with_every_field(command, registry, capsys):
    assert cli_main([command, "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [e["name"] for e in entries] == list(registry)
    first = next(iter(registry.values()))
    fields = set(first.__dataclass_fields__)
    if command == "kpis":  # the MID in force (the KPI's own or its kind's), with its reason
        fields = fields - {"own_mid"} | {"mid"}
        assert {"value", "relative", "reason"} <= set(entries[0]["mid"]) and entries[0]["mid"]["reason"]
    assert set(entries[0]) == fields
    by_name = {e["name"]: e for e in entries}
    if command == "levers":
        assert by_name["incentive_strength"]["high"] == 10.0
        assert by_name["info_sharing"]["mechanisms"] == list(R.LEVERS["info_sharing"].mechanisms)
    else:
        assert by_name["worker_utilisation_mean"]["better"] == -1
        assert by_name["trust_mean"]["daily"] is True


@pytest.mark.parametrize("command,registry", [("levers", R.LEVERS), ("kpis", R.KPIS)])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_tables_show_every_entry_aligned_in_the_language(command, registry, lang, capsys):
    assert cli_main([command, "--lang", lang]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(registry) + 2  # header, rule, one row each
    rule = lines[1]
    label_col = len(rule.split("  ")[0]) + 2  # where the second column starts
    for line, entry in zip(lines[2:], registry.values(), strict=True):
        assert line.startswith(entry.name + " ")
        label = entry.label(lang)
        head, _, _ = line.partition(label)
        assert i18n.display_width(head) == label_col, (line, label)
    other = "en" if lang == "zh" else "zh"
    text = "\n".join(lines)
    assert not any(e.label(other) in text for e in registry.values() if e.label(other) != e.label(lang))
    if lang == "zh":
        assert "杠杆" in lines[0] or "指标" in lines[0]


def test_the_commands_are_in_the_help(capsys):
    with pytest.raises(SystemExit):
        cli_main(["--help"])
    out = capsys.readouterr().out
    assert re.search(r"^\s+levers\s+list the reform levers", out, re.M)
    assert re.search(r"^\s+kpis\s+list the KPIs", out, re.M)
    with pytest.raises(SystemExit):
        cli_main(["kpis", "--lang", "fr"])
