"""The comparison report's judgement and wording (issue 15): a difference is clear only beyond the KPI's
minimum important difference, a family of correlated KPIs counts once, the report says what each option
changes, its trade-offs and its caveats. On comparisons built from made-up run tables, so every verdict is
known in advance (``sim.experiments.compare.comparison``); nothing here runs the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import load_scenario
from sim.experiments import compare as C
from sim.registry import GROUPS, KPIS, LEVERS, REPORT_KPIS, families
from sim.report import figures as F
from sim.report.report import summarise

#: The reference's KPIs in a made-up city.
BASE = {"resolution_rate": 0.5, "median_days_to_resolve": 20.0, "share_resolved_grassroots": 0.2,
        "share_resolved_street": 0.4, "share_resolved_above_street": 0.4, "escalations": 100.0, "petitions": 10.0,
        "collective_incidents": 5.0, "trust_mean_end": 0.55, "satisfaction_mean": 0.5,
        "worker_utilisation_mean": 0.9, "worker_turnover": 0.2, "cost_per_resolved": 10_000.0,
        "dept_resolution_rate": 0.4, "dept_satisfaction": 0.4, "bounces": 50.0, "closure_rate_reported": 0.6}


def made_up(shifts: dict[str, dict[str, float]], reps: int = 5, noise: dict[str, float] | None = None,
            preset: str = "classroom", days: int = 60, seed: int = 3) -> C.Comparison:
    """A comparison of ``baseline`` with the built-in scenarios named in ``shifts``: replicate r of the
    baseline is ``BASE`` times a factor of its own (shared by every scenario: common random numbers), an
    option adds its shift of each KPI plus a little noise of its own (relative sd ``noise[name]``, 1e-4
    by default), so a shift of zero is no important difference and a shift beyond the MID is clear."""
    rng = np.random.default_rng(seed)
    names = ["baseline", *shifts]
    city = 1 + 0.1 * rng.standard_normal(reps)
    rows = []
    for name in names:
        sd = (noise or {}).get(name, 1e-4)
        for r in range(reps):
            row = {"scenario": name, "replicate": r}
            for k, v in BASE.items():
                own = 0.0 if name == "baseline" else v * sd * rng.standard_normal()
                row[k] = v * city[r] + shifts.get(name, {}).get(k, 0.0) + own
            rows.append(row)
    scenarios = [load_scenario(n, preset=preset, days=days).model_dump(mode="json") for n in names]
    manifest = {"spec": {"scenarios": names, "reps": reps}, "scenarios": scenarios, "root_seed": 1,
                "versions": {"cogov": "0.1.0"}, "git_commit": "abc123", "git_dirty": False}
    ts = pd.DataFrame({"scenario": names, "day": 0, "open": 1.0})
    return C.comparison(pd.DataFrame(rows), ts, manifest)


#: Whistles: trust up by 0.0006 (an interval that excludes 0 but lies well within the MID of 0.02), the
#: containment family clearly better on all three of its KPIs with a direction, the cost clearly worse.
WHISTLE = {"trust_mean_end": 0.0006, "share_resolved_grassroots": 0.05, "share_resolved_street": 0.0,
           "share_resolved_above_street": -0.05, "escalations": -30.0, "cost_per_resolved": 3_000.0}


@pytest.fixture(scope="module")
def comp():
    return made_up({"whistle": WHISTLE, "wuzhi": {}}, noise={"wuzhi": 0.3})


def _row(comp, scenario, kpi):
    return comp.diffs.query("scenario == @scenario and kpi == @kpi").iloc[0]


# ------------------------------------------------------------------------------------------------
# verdicts against the minimum important difference
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lo, hi, better, mid, expected", [
    (0.0001, 0.0011, 1, 0.02, "same"),        # excludes 0, inside the MID: no important difference
    (-0.0011, -0.0001, 1, 0.02, "same"),
    (0.03, 0.05, 1, 0.02, "better"),
    (0.03, 0.05, -1, 0.02, "worse"),          # lower is better
    (-0.05, -0.03, -1, 0.02, "better"),
    (0.01, 0.05, 1, 0.02, "uncertain"),       # crosses the MID's edge
    (-0.05, 0.05, 1, 0.02, "uncertain"),
    (0.03, 0.05, 0, 0.02, "up"),              # no direction of better
    (0.0, 0.0, 1, 0.02, "same"),
    (0.03, 0.05, 1, float("nan"), "uncertain"),  # a relative MID of an unknown baseline
    (float("nan"), float("nan"), 1, 0.02, "unknown"),
])
def test_a_difference_is_clear_only_beyond_the_mid(lo, hi, better, mid, expected):
    assert C.change(5, lo, hi, better, mid) == expected


def test_one_replicate_gives_no_verdict():
    assert C.change(1, 0.5, 0.6, 1, 0.01) == "unknown"


def test_a_trust_difference_inside_the_mid_is_never_called_clearly(comp):
    """The issue's case: trust +0.0006 with an interval that excludes 0 was 'clearly worse'."""
    row = _row(comp, "whistle", "trust_mean_end")
    assert 0 < row["ci_low"] < row["ci_high"] < KPIS["trust_mean_end"].mid.value
    assert row["verdict"] == "same"
    s = summarise(comp, "en")
    label = KPIS["trust_mean_end"].en
    clear = [x for x in s.ranking + s.tradeoffs if label in x]
    assert not clear, clear
    residents = next(p for p in s.families if p.startswith(GROUPS["trust"].en))
    assert "No important difference from Baseline (fragmented): Whistle & report" in residents
    assert "Clearly" not in residents


@pytest.mark.parametrize("verdicts, expected", [
    ({"better", "worse"}, "mixed"), ({"better", "uncertain", "same"}, "better"), ({"worse", "same"}, "worse"),
    ({"same", "unknown"}, "same"), ({"same", "uncertain"}, "uncertain"), ({"unknown"}, "unknown"),
])
def test_a_familys_verdict_from_its_members(verdicts, expected):
    assert C.family_verdict(verdicts) == expected


# ------------------------------------------------------------------------------------------------
# families of correlated KPIs count once
# ------------------------------------------------------------------------------------------------

def test_a_family_clearly_better_on_three_kpis_counts_once_in_the_ranking(comp):
    members = ["share_resolved_grassroots", "share_resolved_above_street", "escalations"]
    assert [_row(comp, "whistle", k)["verdict"] for k in members] == ["better"] * 3
    whistle = comp.ranking.set_index("scenario").loc["whistle"]
    assert (whistle["better"], whistle["worse"]) == (1, 1)  # containment once; the cost
    assert whistle[list(C.VERDICT_COUNTS)].sum() == len(families(REPORT_KPIS))
    item = next(x for x in summarise(comp, "en").ranking if "Whistle" in x)
    assert item.count(GROUPS["containment"].en) == 1
    assert "clearly better in 1 (" in item and "clearly worse in 1 (" in item


def test_an_option_that_differs_in_nothing_clearly_ranks_below_one_that_does(comp):
    assert list(comp.ranking["scenario"]) == ["whistle", "wuzhi"]
    assert list(comp.ranking["rank"]) == [1, 2]
    assert comp.ranking.set_index("scenario").loc["wuzhi", "better"] == 0


def test_equal_options_share_a_rank():
    table = pd.DataFrame({"scenario": ["a", "b", "c", "a", "b", "c"], "family": ["x", "x", "x", "y", "y", "y"],
                          "verdict": ["better", "better", "same", "same", "same", "worse"]})
    ranking = C.rank_options(table, ["ref", "a", "b", "c"])
    assert ranking.set_index("scenario")["rank"].to_dict() == {"a": 1, "b": 1, "c": 3}
    items = summarise(made_up({"whistle": WHISTLE, "incentives": WHISTLE}), "en").ranking
    assert [x.split(":")[0] for x in items] == ["Rank 1 (tied)", "Rank 1 (tied)"]


def test_the_registry_declares_the_families():
    for k in KPIS.values():
        assert k.group == "" or k.group in GROUPS, k.name
    members = {g: [k for k in KPIS.values() if k.group == g] for g in GROUPS}
    for g, ks in members.items():
        assert len(ks) >= 2 and any(k.better for k in ks), g
        assert GROUPS[g].en and GROUPS[g].zh and GROUPS[g].reason
    assert not set(GROUPS) & set(KPIS)  # a family named by its one KPI cannot clash with a group
    fam = families(REPORT_KPIS)
    assert fam["containment"] == ["share_resolved_grassroots", "share_resolved_street", "share_resolved_above_street",
                                  "escalations"]
    assert "closure_rate_reported" not in {k for ks in fam.values() for k in ks}  # no direction, no family
    assert {"bounces", "dept_resolution_rate", "dept_satisfaction"} <= {k for ks in fam.values() for k in ks}


def test_bounces_and_the_department_kpis_are_in_the_prose(comp):
    text = " ".join(summarise(comp, "en").families)
    for k in ("bounces", "dept_resolution_rate", "dept_satisfaction"):
        assert KPIS[k].en in text, k


# ------------------------------------------------------------------------------------------------
# trade-offs, what each option changes, caveats
# ------------------------------------------------------------------------------------------------

def test_a_trade_off_is_named(comp):
    s = summarise(comp, "en")
    assert s.tradeoffs == ["Whistle & report: clearly better in Containment at the grassroots, but clearly worse in "
                           "Cost per resolved case."]


def test_each_option_says_which_levers_it_moves_with_their_cost(comp):
    rows = comp.changes[comp.changes["scenario"] == "whistle"]
    assert rows[["name", "before", "after"]].values.tolist() == [["whistle_power", 0.0, 0.8], ["w_local", 0.0, 0.3]]
    options = dict(summarise(comp, "en").options)
    assert options["baseline"] == "fragmented: little devolution, process evaluation, silos."
    for lever, move in (("whistle_power", "0 → 0.8"), ("w_local", "0 → 0.3")):
        assert f"{LEVERS[lever].en} {move} (cost or risk: {LEVERS[lever].cost_en})" in options["whistle"]
    zh = dict(summarise(comp, "zh").options)
    assert zh["baseline"] == "碎片化：放权少、重过程考核、部门各自为政。"  # the scenario's description_zh
    assert f"{LEVERS['whistle_power'].zh} 0 → 0.8（成本或风险：{LEVERS['whistle_power'].cost_zh}）" in zh["whistle"]


def test_a_schedule_and_other_settings_are_changes_too():
    scenarios = [load_scenario(n, preset="classroom").model_dump(mode="json") for n in ("baseline",
                                                                                       "whistle_after_warmup")]
    changes = C.scenario_changes(scenarios)
    levers = changes[changes["kind"] == "lever"]
    assert levers[["name", "day", "before", "after"]].values.tolist() == [["whistle_power", 365, 0.0, 0.8],
                                                                         ["w_local", 365, 0.0, 0.3]]
    assert changes[changes["kind"] == "setting"][["name", "before", "after"]].values.tolist() == [["days", 365, 730]]
    assert C.scenario_changes(scenarios[:1] * 2).empty  # the same scenario twice changes nothing


def test_caveats_for_few_replicates_a_small_city_and_short_runs(comp):
    assert [key for key, _ in comp.caveats] == ["small_city", "short_run", "one_parameter_set"]  # 5 replicates
    few = C.caveats(3, comp.scenarios)
    assert [key for key, _ in few] == ["few_reps", "small_city", "short_run", "one_parameter_set"]
    city = [load_scenario("baseline", preset="city").model_dump(mode="json")]
    assert [key for key, _ in C.caveats(8, city)] == ["one_parameter_set"]
    assert [key for key, _ in C.caveats(1, city)] == ["one_rep", "one_parameter_set"]
    text = " ".join(summarise(made_up({"whistle": WHISTLE}, reps=3), "en").caveats)
    assert "Only 3 replicates per scenario (fewer than 5)" in text
    assert "The classroom preset is a small city (3,000 residents" in text
    assert "Runs of 60 days are shorter than a year" in text
    assert "one parameter set" in text


def test_one_replicate_ranks_nothing_and_says_why():
    comp = made_up({"whistle": WHISTLE}, reps=1)
    s = summarise(comp, "en")
    assert s.ranking == [] and s.tradeoffs == []
    assert any("no confidence interval" in c for c in s.caveats)
    assert all("Clearly" not in p for p in s.families)
    legend = [x.get_text() for x in F.differences(comp, "en").legends[0].get_texts()]
    assert legend == ["no interval (one replicate)", "±1 MID"]  # points without intervals, nothing judged


def test_one_scenario_alone_is_reported_without_a_ranking():
    comp = made_up({}, reps=3)
    assert comp.families.empty and comp.ranking.empty and comp.changes.empty
    s = summarise(comp, "en")
    assert s.ranking == [] and "nothing to compare" in s.lead[0]


# ------------------------------------------------------------------------------------------------
# figures
# ------------------------------------------------------------------------------------------------

def test_the_palette_is_colour_blind_safe_and_adds_line_styles_beyond_six_series():
    names = ["ref", *(f"o{i}" for i in range(8))]
    styles = F.scenario_styles(names)
    assert styles["ref"].ls == "--"
    options = [styles[n] for n in names[1:]]
    assert {s.color for s in options} <= set(F.OKABE_ITO)
    assert len({(s.color, s.ls) for s in options}) == len(options)
    assert len({s.ls for s in options}) > 1
    assert {s.ls for n, s in F.scenario_styles(names[:6]).items() if n != "ref"} == {"-"}


def test_the_forest_plot_has_a_panel_per_option_and_the_mid_band(comp):
    fig = F.differences(comp, "en")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title(loc="left") for ax in panels] == ["Whistle & report", "Five-mode integration"]
    for ax in panels:
        band = [p for p in ax.patches if np.isclose(p.get_x(), -1) and np.isclose(p.get_width(), 2)]
        assert band, "no ±1 MID band"
    labels = [x.get_text() for x in panels[0].get_yticklabels()]
    assert GROUPS["containment"].en in labels and KPIS["bounces"].en in labels


def test_the_cost_figure_shows_paired_differences_with_labels_that_do_not_overlap():
    shifts = {n: {"cost_per_resolved": 400.0 * i, "resolution_rate": 0.002 * i}
              for i, n in enumerate(("whistle", "wuzhi", "fengqiao", "incentives", "info_sharing"), 1)}
    comp = made_up(shifts)
    fig = F.cost_effectiveness(comp, "en")
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    boxes = [a.get_window_extent(renderer) for a in ax.texts if a.get_text() in
             {"Baseline (fragmented)", "Whistle & report", "Five-mode integration", "Fengqiao model",
              "Evaluation reform", "One-network platform"}]
    assert len(boxes) == 6
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b)
    # the points are the paired differences: the reference at the origin, an option at its shift
    points = {line.get_color(): tuple(line.get_xydata()[0]) for line in ax.lines if line.get_marker() != "None"}
    assert points[F.REFERENCE_COLOR] == (0.0, 0.0)
    x, y = points[F.scenario_styles(comp.names)["whistle"].color]
    assert x == pytest.approx(0.2, abs=0.01) and y == pytest.approx(400, abs=20)  # pp, yuan


# ------------------------------------------------------------------------------------------------
# district results
# ------------------------------------------------------------------------------------------------

def _districts_frame(shift_by_district: dict[int, float], reps: int = 5, seed: int = 5) -> pd.DataFrame:
    """Two scenarios' district tables: every KPI of ``DISTRICT_REPORT`` at a level shared by the replicate
    (common random numbers), the option's resolution rate moved by ``shift_by_district[district]``."""
    rng = np.random.default_rng(seed)
    rows = []
    for d, shift in shift_by_district.items():
        level = 0.5 + 0.05 * rng.standard_normal(reps)
        for name in ("baseline", "whistle"):
            for r in range(reps):
                own = 1e-4 * rng.standard_normal() if name == "whistle" else 0.0
                rows.append({"scenario": name, "replicate": r, "district": d, "name": f"D{d}", "name_zh": f"{d}区",
                             "type": "central", "type_zh": "中心城区", "petitions": 100.0 * level[r],
                             "trust_mean_end": level[r],
                             "resolution_rate": level[r] + own + (shift if name == "whistle" else 0.0)})
    return pd.DataFrame(rows)


def test_a_district_that_reads_otherwise_than_the_city_is_named():
    city = pd.DataFrame({"scenario": "whistle", "kpi": ["resolution_rate", "petitions", "trust_mean_end"],
                         "verdict": ["better", "same", "same"]})
    d = C.district_differences(_districts_frame({0: 0.05, 1: 0.0, 2: -0.05}), ["baseline", "whistle"], city)
    rr = d[d["kpi"] == "resolution_rate"].set_index("district")
    assert rr["verdict"].tolist() == ["better", "same", "worse"]  # MID 0.01: +0.05 and -0.05 are clear
    assert rr["differs"].tolist() == [False, True, True]
    assert not d[d["kpi"] != "resolution_rate"]["differs"].any()  # as city-wide: no important difference
    one = C.district_differences(_districts_frame({0: 0.05}), ["baseline", "whistle"], city)
    assert one.empty  # one district is the city


def test_the_report_lists_the_districts_that_differ(comp):
    from dataclasses import replace

    from sim.report.report import _districts
    city = pd.DataFrame({"scenario": "whistle", "kpi": ["resolution_rate", "petitions", "trust_mean_end"],
                         "verdict": ["same", "same", "same"]})
    d = C.district_differences(_districts_frame({0: 0.0, 1: -0.05}), ["baseline", "whistle"], city)
    intro, items = _districts(replace(comp, names=["baseline", "whistle"], districts=d), "en")
    assert "each of the 2 districts" in intro
    assert len(items) == 1 and items[0].startswith("Whistle & report: D1 (central): Resolution rate -5.0")
    assert "clearly worse; city-wide no important difference" in items[0] and "D0" not in items[0]
    _, zh = _districts(replace(comp, names=["baseline", "whistle"], districts=d), "zh")
    assert "1区（中心城区）" in zh[0] and "0区" not in zh[0]
    assert _districts(replace(comp, districts=d.iloc[:0]), "en") == ("", [])


def test_the_summary_opens_with_the_answer(comp):
    en, zh = summarise(comp, "en").lead, summarise(comp, "zh").lead
    assert en[0] == ("Best option: Whistle & report, clearly better than Baseline (fragmented) in 1 of 9 areas and "
                     "clearly worse in 1.")
    assert en[1].startswith("Next: Five-mode integration, clearly better than Baseline (fragmented) in 0 of 9 areas "
                            "and clearly worse in none.")
    assert zh[0].startswith("最优方案：吹哨报到，在9个方面中有1个明显优于基线（碎片化）")
