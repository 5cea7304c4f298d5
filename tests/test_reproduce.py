"""`cogov reproduce`: verdicts, contrasts, the declarative design, the command end to end."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim import load_scenario
from sim.experiments import claims as R
from sim.cli import main as cli_main
from sim.cli.reproduce import in_cogov_repository
from sim.registry import KPIS as KPI_REGISTRY
from sim.report.sensitivity import SECTION_BEGIN, SECTION_END, with_section

REPO = Path(__file__).resolve().parents[1]
SUMMARY_KEYS = set(json.loads((Path(__file__).parent / "data" / "regression.json").read_text())["classroom"])


# ------------------------------------------------------------------------------------------------
# verdicts
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lo, hi, better, claimed, mid, expected", [
    (-1.0, 1.0, 1, 1, 0.0, "inconclusive"),     # straddles zero, beyond a zero MID on both sides
    (-1.0, 1.0, -1, -1, 0.0, "inconclusive"),
    (0.0, 2.0, 1, 1, 0.0, "inconclusive"),      # touches zero
    (0.5, 2.0, 1, 1, 0.0, "supported"),         # higher is better, claimed better, CI above zero
    (-2.0, -0.5, 1, 1, 0.0, "reversed"),
    (-2.0, -0.5, -1, 1, 0.0, "supported"),      # lower is better: a negative effect is the claimed one
    (0.5, 2.0, -1, 1, 0.0, "reversed"),
    (-2.0, -0.5, 1, -1, 0.0, "supported"),      # the claim says worse on a higher-is-better KPI
    (0.5, 2.0, 1, -1, 0.0, "reversed"),
    (0.5, 2.0, -1, -1, 0.0, "supported"),       # worse on a lower-is-better KPI: up
    (3.0, 3.0, 1, 1, 0.0, "supported"),         # a degenerate interval away from zero
    (0.0, 0.0, 1, 1, 0.0, "not supported"),     # exactly no effect
    (0.5, 2.0, 1, 1, 0.4, "supported"),         # beyond the MID
    (0.3, 2.0, 1, 1, 0.4, "inconclusive"),      # crosses the MID's edge
    (-0.3, 0.3, 1, 1, 0.4, "not supported"),    # within the MID: too small to matter
    (-0.4, 0.4, 1, 1, 0.4, "not supported"),    # the MID's edges belong to it
    (-2.0, -0.5, 1, 1, 0.4, "reversed"),
    (-2.0, -0.3, 1, 1, 0.4, "inconclusive"),
    (float("nan"), 1.0, 1, 1, 0.0, "inconclusive"),
    (float("nan"), float("nan"), -1, 1, 0.0, "inconclusive"),
    (None, None, 1, 1, 0.0, "inconclusive"),
    (-math.inf, -1.0, 1, 1, 0.0, "inconclusive"),
    (0.5, 2.0, 1, 1, float("nan"), "inconclusive"),  # a relative MID of an unknown baseline
])
def test_verdict(lo, hi, better, claimed, mid, expected):
    assert R.verdict(lo, hi, better, claimed, mid) == expected


def test_flipping_the_better_direction_or_the_claim_swaps_supported_and_reversed():
    for lo, hi in ((0.2, 0.9), (-0.9, -0.2)):
        for claimed in (1, -1):
            a, b = R.verdict(lo, hi, 1, claimed), R.verdict(lo, hi, -1, claimed)
            assert {a, b} == {"supported", "reversed"}
            assert R.verdict(lo, hi, 1, claimed) == R.verdict(lo, hi, -1, -claimed)


def test_verdict_rejects_a_direction_that_is_not_plus_or_minus_one():
    with pytest.raises(ValueError):
        R.verdict(0.1, 0.2, 0, 1)


# ------------------------------------------------------------------------------------------------
# contrasts on constructed summaries
# ------------------------------------------------------------------------------------------------

KPIS = sorted({r.kpi for c in R.CLAIMS for r in c.rows})  # the KPIs the claims are tested on


def constructed(effects: dict[str, float], reps: int = 5, extra: dict[str, np.ndarray] | None = None, seed: int = 0):
    """A summaries table: baseline noise per replicate, plus each arm's fixed additive effect on every KPI."""
    rng = np.random.default_rng(seed)
    base = {k: rng.normal(10.0, 2.0, reps) for k in KPIS}
    rows = []
    for arm in R.arm_names():
        for r in range(reps):
            add = effects.get(arm, 0.0) + (extra.get(arm, np.zeros(reps))[r] if extra else 0.0)
            rows.append({"arm": arm, "replicate": r, **{k: base[k][r] + add for k in KPIS}})
    return pd.DataFrame(rows)


def test_additive_modes_have_exactly_zero_interaction():
    singles = {"politics": 1.0, "self_governance": 2.0, "rule_of_law": -0.5, "moral_education": 0.25,
               "info_sharing": 3.0}
    df = constructed({**singles, "five_modes": sum(singles.values())})
    vals = R.contrast_values(df, R.FIVE_MODES_INTERACTION, "resolved_per_detected")
    assert len(vals) == 5
    assert np.allclose(vals.to_numpy(), 0.0, atol=1e-12)
    t = R.findings_table(df)
    inter = t[t["test"].str.startswith("interaction: all five")]
    assert len(inter) == 2
    assert np.allclose(inter["effect"], 0.0, atol=1e-12)
    assert (inter["verdict"] == "not supported").all()
    combined = t[(t["claim_id"] == 7) & (t["role"] == "context") & (t["kpi"] == "resolved_per_detected")].iloc[0]
    assert combined["effect"] == pytest.approx(sum(singles.values()))


def test_two_by_two_interaction_recovers_a_built_in_synergy():
    # devolution alone -1, resources alone +0.5, both together +2 (= -1 + 0.5 + synergy 2.5)
    df = constructed({"devolution_only": -1.0, "resources_only": 0.5, "devolution_resources": 2.0})
    vals = R.contrast_values(df, R.DEVOLUTION_INTERACTION, "resolved_per_detected")
    assert np.allclose(vals.to_numpy(), 2.5)
    t = R.findings_table(df).set_index(["claim_id", "test", "kpi"])
    row = t.loc[(2, "interaction devolution × resources", "resolved_per_detected")]
    assert row["effect"] == pytest.approx(2.5) and row["verdict"] == "supported"
    alone = t.loc[(2, "devolution alone − baseline", "resolved_per_detected")]
    assert alone["effect"] == pytest.approx(-1.0) and alone["verdict"] == "supported"   # claimed worse
    days = t.loc[(2, "devolution alone − baseline", "median_days_to_resolve")]
    # -1 day is better, the claim said worse; but one day is the MID of days: too small to matter
    assert days["effect"] == pytest.approx(-1.0) and days["verdict"] == "not supported"


def test_paired_ci_matches_a_hand_computed_paired_t_and_relative_effect_divides_by_the_baseline_mean():
    noise = np.array([0.3, -0.1, 0.8, 0.0, 0.4])
    df = constructed({"info_sharing": -2.0}, extra={"info_sharing": noise})
    d = -2.0 + noise
    t = R.findings_table(df)
    # Holm over claim 1's two tests: the one with the smaller p-value gets 1 - 0.05/2, the other 1 - 0.05/1
    assert sorted(t[t["claim_id"] == 1]["ci_level"]) == pytest.approx([0.95, 0.975])
    row = t[(t["claim_id"] == 1) & (t["kpi"] == "bounces")].iloc[0]
    half = stats.t.ppf(0.5 + row["ci_level"] / 2, 4) * d.std(ddof=1) / np.sqrt(5)
    assert row["effect"] == pytest.approx(d.mean())
    assert row["ci_low"] == pytest.approx(d.mean() - half) and row["ci_high"] == pytest.approx(d.mean() + half)
    base = df[df["arm"] == "baseline"]["bounces"].mean()
    assert row["baseline_mean"] == pytest.approx(base)
    assert row["relative_effect"] == pytest.approx(d.mean() / base)
    assert row["relative_ci_low"] == pytest.approx((d.mean() - half) / base)
    assert row["n"] == 5 and row["verdict"] == "supported"


def test_replicates_with_a_missing_arm_or_an_undefined_kpi_are_left_out():
    df = constructed({"info_sharing": 1.0})
    df.loc[(df["arm"] == "info_sharing") & (df["replicate"] == 0), "bounces"] = np.nan
    df = df[~((df["arm"] == "baseline") & (df["replicate"] == 1))]
    vals = R.contrast_values(df, {"info_sharing": 1.0, "baseline": -1.0}, "bounces")
    assert sorted(vals.index) == [2, 3, 4]
    t = R.findings_table(df)
    assert t[(t["claim_id"] == 1) & (t["kpi"] == "bounces")]["n"].iloc[0] == 3


def test_one_replicate_gives_no_interval_and_no_verdict():
    t = R.findings_table(constructed({"info_sharing": -5.0}, reps=1))
    assert t["ci_low"].isna().all() and (t["verdict"] == "inconclusive").all()
    assert (t["n"] == 1).all()


def test_a_zero_baseline_mean_gives_an_undefined_relative_effect():
    df = constructed({})
    df["erupted"] = 0.0
    t = R.findings_table(df)
    assert t[t["kpi"] == "erupted"]["relative_effect"].isna().all()


def test_holm_levels_step_down_from_the_smallest_p_value():
    assert R.holm_levels([0.04, 0.001, 0.2]) == pytest.approx([1 - 0.05 / 2, 1 - 0.05 / 3, 0.95])
    assert R.holm_levels([float("nan"), 0.01]) == pytest.approx([0.95, 0.975])  # undefined counts as 1
    assert R.holm_levels([0.3]) == pytest.approx([0.95])


def test_ensemble_verdict_needs_a_large_majority_and_says_when_members_cannot_tell():
    assert R.ensemble_verdict(["supported"] * 8 + ["inconclusive"] * 2)[0] == "supported"
    assert R.ensemble_verdict(["supported"] * 7 + ["reversed"] * 3)[0] == "depends on parameters"
    assert R.ensemble_verdict(["not supported"] * 9 + ["supported"])[0] == "not supported"
    assert R.ensemble_verdict(["reversed"] * 10)[0] == "reversed"
    verdict, shares = R.ensemble_verdict(["inconclusive"] * 6 + ["supported"] * 4)
    assert verdict == "inconclusive" and shares["supported"] == pytest.approx(0.4)


def test_an_ensemble_whose_members_disagree_depends_on_the_parameter_that_sets_the_effect():
    """Members where the reform helps or harms by a parameter's value: the test depends on that parameter,
    named with its rank correlation; a parameter unrelated to the effect is not named."""
    frames, values = [], []
    for m, theta in enumerate(np.linspace(-1, 1, 10)):
        df = constructed({"info_sharing": -3.0 * theta}, seed=m)  # bounces down (better) when theta > 0
        frames.append(df.assign(member=m))
        values.append({"handling.skill_street": theta, "detection.p_report": [0.05, 0.02][m % 2]})
    t = R.findings_table(pd.concat(frames), members=pd.DataFrame(values))
    row = t[(t["claim_id"] == 1) & (t["kpi"] == "bounces")].iloc[0]
    assert row["members"] == 10 and row["verdict"] == "depends on parameters"
    assert 0.3 <= row["support_share"] <= 0.5 and 0.3 <= row["reversed_share"] <= 0.5
    assert row["decided_by"].startswith("handling.skill_street (-") and "p_report" not in row["decided_by"]
    assert row["member_q10"] < 0 < row["member_q90"]


def test_contrast_text():
    assert R.contrast_text({"a": 1.0, "baseline": -1.0}) == "a − baseline"
    assert R.contrast_text(R.FIVE_MODES_INTERACTION).endswith("+ 4·baseline")


# ------------------------------------------------------------------------------------------------
# the design table
# ------------------------------------------------------------------------------------------------

def test_the_design_table_is_consistent():
    ids = [c.id for c in R.CLAIMS]
    assert ids == list(range(1, 8))
    for c in R.CLAIMS:
        assert "baseline" in c.arms and set(c.arms) <= set(R.ARMS)
        assert c.rows
        for r in c.rows:
            assert set(r.weights) <= set(c.arms), (c.id, r.experiment)
            assert sum(r.weights.values()) == 0, "a contrast must vanish on a KPI that no arm changes"
            assert r.kpi in SUMMARY_KEYS and KPI_REGISTRY[r.kpi].better in (1, -1), "a test needs a direction"
            assert r.claimed in (1, -1)
    assert set(R.arm_names()) == set(R.ARMS)
    assert R.arm_names()[0] == "baseline"


def test_arms_named_after_a_scenario_have_exactly_its_lever_changes():
    base = load_scenario("baseline").levers.model_dump()
    for name, arm in R.ARMS.items():
        if arm.scenario is None:
            continue
        levers = load_scenario(arm.scenario).levers.model_dump()
        changed = {k: v for k, v in levers.items() if v != base[k]}
        assert set(arm.changes) <= {"levers"}
        assert arm.changes.get("levers", {}) == changed, name


def test_five_modes_arm_is_the_union_of_the_five_disjoint_single_modes():
    union: dict = {}
    for m in R.FIVE_MODES:
        levers = R.ARMS[m].changes["levers"]
        assert not set(levers) & set(union), f"{m} shares a lever with another mode"
        union.update(levers)
    assert R.ARMS["five_modes"].changes == {"levers": union}


def test_arms_change_only_levers_or_detection_of_the_baseline():
    arms = R.build_arms("classroom", 30)
    base = arms[0]
    assert base.name == "baseline"
    b = base.model_dump()
    for sc in arms[1:]:
        d = sc.model_dump()
        changed = {k for k in d if d[k] != b[k]} - {"name", "description"}
        assert changed and changed <= set(R.ARM_SECTIONS), (sc.name, changed)
        assert sc.preset == "classroom" and sc.days == 30
    patrols = next(a for a in arms if a.name == "patrols_doubled")
    assert patrols.detection.patrol_share == pytest.approx(2 * base.detection.patrol_share)
    assert patrols.levers == base.levers


def test_an_arm_outside_levers_and_detection_is_refused():
    base = load_scenario("baseline", preset="classroom")
    with pytest.raises(ValueError, match="arms may change only"):
        R.build_arm(base, "bad", R.Arm("bad", {"handling": {"skill_city": 0.9}}))


def test_default_findings_path_only_in_the_cogov_repository(tmp_path):
    assert in_cogov_repository(REPO) == (REPO / "docs").is_dir()
    assert not in_cogov_repository(tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "other"\n')
    assert not in_cogov_repository(tmp_path)


# ------------------------------------------------------------------------------------------------
# the command
# ------------------------------------------------------------------------------------------------

def reproduce(*argv) -> int:
    try:
        return cli_main(["reproduce", *map(str, argv)])
    except SystemExit as exc:  # --help
        return exc.code


@pytest.mark.parametrize("args, words", [
    (["--reps", "0"], "--reps must be at least 1"),
    (["--preset", "metropolis"], "invalid choice: 'metropolis'"),
    (["--days", "0"], "--days must be between"),
    (["--workers", "0"], "--workers must be at least 1"),
    (["--seed", "-1"], "--seed must be 0 or more"),
    (["--reps", "two"], "invalid int value"),
    (["--no-such-option"], "unrecognized arguments"),
])
def test_bad_options_exit_2_with_one_message_and_write_nothing(tmp_path, capsys, args, words):
    out = tmp_path / "study"
    assert reproduce(*args, "--out", out, "--findings", tmp_path / "F.md", "-q") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0] and err[0].startswith("cogov reproduce: error:")
    assert not out.exists() and not (tmp_path / "F.md").exists()


def test_unwritable_output_exits_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert reproduce("--out", blocker / "study", "--findings", tmp_path / "F.md", "-q") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a file" in err[0]
    assert reproduce("--out", tmp_path / "ok", "--findings", blocker / "F.md", "-q") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cogov reproduce: error: --findings")
    assert not (tmp_path / "ok").exists()


def test_help_names_the_command(capsys):
    assert reproduce("--help") == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: cogov reproduce") and "--findings" in out and "--reps" in out


def test_failed_runs_exit_1_and_say_where_the_tracebacks_are(tmp_path, monkeypatch, capsys):
    from sim.experiments import sweep
    monkeypatch.setattr(sweep, "run_task", lambda task: {"key": task["key"], "ok": False, "error": "boom\n"})
    out = tmp_path / "study"
    assert reproduce("--members", 0, "--preset", "classroom", "--reps", 1, "--days", 2, "--out", out,
                     "--executor", "serial",
                     "--findings", tmp_path / "F.md", "-q") == 1
    err = capsys.readouterr().err
    assert f"{out}/failures/" in err
    assert len(list((out / "failures").glob("*.txt"))) == len(R.ARMS)
    assert not (tmp_path / "F.md").exists()


def test_interruption_keeps_finished_runs_and_exits_130(tmp_path, monkeypatch, capsys):
    from sim.experiments import sweep
    real, calls = sweep.run_task, []

    def interrupted_after_three(task):
        calls.append(task["key"])
        if len(calls) > 3:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(sweep, "run_task", interrupted_after_three)
    out = tmp_path / "study"
    args = ("--members", 0, "--preset", "classroom", "--reps", 1, "--days", 3, "--out", out, "--executor", "serial",
            "--findings", tmp_path / "F.md", "-q")
    assert reproduce(*args) == 130
    assert "rerun the same command to resume" in capsys.readouterr().err
    assert len(list((out / "runs").glob("*.parquet"))) == 3
    monkeypatch.setattr(sweep, "run_task", real)
    assert reproduce(*args) == 0
    assert f"({len(R.ARMS)} runs, 3 reused)" in capsys.readouterr().out


@pytest.mark.slow
def test_end_to_end_small_study_writes_every_claim_with_a_verdict_and_the_figures(tmp_path, capsys):
    out, findings = tmp_path / "study", tmp_path / "docs" / "FINDINGS.md"
    args = ("--members", 0, "--preset", "classroom", "--reps", 2, "--days", 60, "--out", out, "--findings", findings,
            "--executor", "serial", "-q")
    assert reproduce(*args) == 0
    printed = capsys.readouterr().out
    table = pd.read_csv(out / "findings.csv")
    assert sorted(table["claim_id"].unique()) == list(range(1, 8))
    assert len(table) == sum(len(c.rows) for c in R.CLAIMS)
    assert table["verdict"].isin(R.VERDICTS).all()
    assert (table["n"] == 2).all()
    for col in ("claim", "test", "kpi", "better", "claimed", "effect", "ci_low", "ci_high", "relative_effect",
                "n", "verdict"):
        assert col in table.columns
    for png in (out / "findings_effects.png", findings.with_name("FINDINGS_effects.png")):
        assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    md = findings.read_text(encoding="utf-8")
    assert md == (out / "FINDINGS.md").read_text(encoding="utf-8").replace("findings_effects.png",
                                                                           "FINDINGS_effects.png")
    assert "Small run, not the reference findings" in md
    assert "cogov reproduce --members 0 --preset classroom --reps 2 --days 60" in md
    assert "![" in md and "FINDINGS_effects.png" in md
    for c in R.CLAIMS:
        assert f"### {c.id}. {c.claim}" in md
    assert "## What the model does not support" in md
    assert "wall time" in printed and printed.count("\n") >= len(table) + 2
    # rerunning the same command reuses every run and gives the same table, and keeps the section that
    # cogov sensitivity --findings wrote
    findings.write_text(with_section(md, f"{SECTION_BEGIN}\n## Sensitivity here\n{SECTION_END}"), encoding="utf-8")
    assert reproduce(*args) == 0
    assert f"({len(R.ARMS) * 2} runs, {len(R.ARMS) * 2} reused)" in capsys.readouterr().out
    pd.testing.assert_frame_equal(pd.read_csv(out / "findings.csv"), table)
    again = findings.read_text(encoding="utf-8")
    assert again.count(SECTION_BEGIN) == 1 and "## Sensitivity here" in again and "## Results" in again
    # a quick look run from the repository leaves the committed findings alone (no --findings given)
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    (repo / "pyproject.toml").write_text('[project]\nname = "cogov"\n')
    assert in_cogov_repository(repo)
    cwd = os.getcwd()
    os.chdir(repo)
    try:
        assert reproduce(*args[:-5], "--executor", "serial", "-q") == 0
    finally:
        os.chdir(cwd)
    assert not (repo / "docs" / "FINDINGS.md").exists()
