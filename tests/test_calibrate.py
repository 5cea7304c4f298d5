"""`cogov calibrate`: the distance, the targets file, the ABC ensemble (on an analytic model and on the
simulator), the command, and recovery of known parameters."""

import math

import numpy as np
import pandas as pd
import pytest

from sim import CoGovernanceModel
from sim.experiments import calibration as cal
from sim.experiments.calibration import CalibrationError, Target, Targets, calibrate, fit_ranges, load_targets
from sim.cli.calibrate import main
from sim.experiments.spec import apply_parameters
from sim.params import load_scenario
from sim.streams import replicate_seeds


def test_term_is_at_most_one_exactly_inside_the_band():
    t = Target(id="T", kpi="resolution_rate", value=0.6, low=0.5, high=0.8)
    assert t.term(0.6) == 0
    assert t.term(0.5) == pytest.approx(1) and t.term(0.8) == pytest.approx(1)  # each side its own half-band
    assert t.term(0.7) == pytest.approx(0.25)
    assert t.term(0.45) > 1 and t.term(0.85) > 1
    assert math.isinf(t.term(float("nan")))


def test_target_needs_value_inside_band():
    with pytest.raises(ValueError, match="low < value < high"):
        Target(id="T", kpi="resolution_rate", value=0.9, low=0.5, high=0.8)


def test_builtin_targets_name_known_kpis_and_cover_calibration_rows():
    targets = load_targets()
    assert {t.id for t in targets.target} >= {"C1", "C3", "C4", "C5", "C8a", "C8b", "C9"}


def test_held_back_targets_are_reported_not_fitted():
    fit = Target(id="F", kpi="resolution_rate", value=0.6, low=0.5, high=0.8)
    check = Target(id="K", kpi="routing_accuracy", value=0.6, low=0.5, high=0.8, role="check")
    targets = Targets(target=[fit, check])
    assert targets.distance({"resolution_rate": 0.7, "routing_accuracy": 0.0}) == pytest.approx(0.25)
    assert {t.id: t.role for t in load_targets().target}["C4"] == "check"
    table = pd.DataFrame({"resolution_rate": [0.7], "routing_accuracy": [0.0]})
    from sim.experiments.calibration import target_table
    from sim.report.calibration import target_table_text
    text = target_table_text(target_table(table, targets))
    assert "Fitted targets: 1 of 1 in band" in text and "Held-back patterns (not fitted; checked): 0 of 1 in band" in text


def test_targets_file_errors_name_file_and_key(tmp_path):
    bad = tmp_path / "t.toml"
    bad.write_text('[[target]]\nid = "X"\nkpi = "no_such_kpi"\nvalue = 1\nlow = 0\nhigh = 2\n')
    with pytest.raises(CalibrationError, match=r"t\.toml: key 'target\.0\.kpi': unknown KPI 'no_such_kpi'"):
        load_targets(bad)
    bad.write_text('[[target]]\nid = "X"\nkpi = "resolution_rate"\nvalue = 1\nlow = 0\nhigh = 2\nwho = 1\n')
    with pytest.raises(CalibrationError, match=r"key 'target\.0\.who': unknown key"):
        load_targets(bad)
    with pytest.raises(CalibrationError, match="not found"):
        load_targets(tmp_path / "missing.toml")


def test_fit_ranges_are_valid_values_of_their_parameters():
    ranges = fit_ranges()
    assert "detection.p_report" in ranges and "emergence.disputes_per_1000_year" in ranges
    base = load_scenario("baseline", preset="classroom")
    for name, (lo, hi) in ranges.items():
        assert lo < hi
        apply_parameters(base, {name: lo})  # raises if a search bound is outside the schema's range
        apply_parameters(base, {name: hi})


@pytest.mark.parametrize("argv, message", [
    (["--population", "2"], "--population must be at least 3"),
    (["--alpha", "1"], "--alpha must be between 0 and 1"),
    (["--seeds", "1,1"], "--seeds: need different whole numbers"),
    (["--seeds", "a"], "--seeds: need different whole numbers"),
    (["--reps", "0"], "--reps must be at least 1"),
    (["--parameters", "levers.whistle_power"], "not an uncertain parameter: levers.whistle_power"),
    (["--targets", "nope.toml"], "targets file not found: nope.toml"),
])
def test_bad_options_exit_2_with_one_message(argv, message, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_command_writes_results_and_a_fitted_file_the_baseline_can_extend(tmp_path, capsys):
    out = tmp_path / "cal"
    argv = ["--preset", "classroom", "--days", "20", "--population", "4", "--generations", "2", "--reps", "1",
            "--final-reps", "2", "--seeds", "1,2", "--executor", "serial", "--parameters", "detection.p_report",
            "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    for name in ("posterior.parquet", "fitted.toml", "targets.csv", "patterns.csv", "parameters.csv", "history.csv",
                 "calibration.png", "posterior.png"):
        assert (out / name).is_file(), name
    table = pd.read_csv(out / "targets.csv")
    assert list(table["id"]) == [t.id for t in load_targets().target]
    assert set(table["in_band"]) <= {True, False} and table["share_in_band"].between(0, 1).all()
    assert "in band" in printed and "C8a" in printed and "What the targets pin down" in printed
    posterior = pd.read_parquet(out / "posterior.parquet")
    assert sorted(posterior["root_seed"].unique()) == [1, 2] and len(posterior) == 2 * cal.kept_count(4, cal.ALPHA)
    assert posterior["weight"].sum() == pytest.approx(1.0)
    fitted = float(pd.read_csv(out / "parameters.csv").set_index("parameter").loc["detection.p_report", "best"])
    child = tmp_path / "child.toml"
    child.write_text(f'extends = "{(out / "fitted.toml").as_posix()}"\nname = "child"\n')
    assert load_scenario(child).detection.p_report == fitted
    assert main(argv) == 0  # resumes from the stores: the same result again
    assert float(pd.read_csv(out / "parameters.csv").set_index("parameter").loc["detection.p_report",
                                                                                 "best"]) == fitted
    pd.testing.assert_frame_equal(pd.read_parquet(out / "posterior.parquet"), posterior)


@pytest.mark.slow
def test_recovers_parameters_from_a_synthetic_target(tmp_path):
    """Targets made by the model itself at known values: calibration on the same seeds finds them again:
    each lies inside the ensemble's 90% interval, and the ensemble's median is within a tenth of each
    search range (the tolerance we state in docs/CALIBRATION.md). A short burn-in: the targets are made
    at the same settings, so its length does not matter here."""
    truth = {"emergence.disputes_per_1000_year": 10.0, "handling.skill_department": 0.6}
    base = load_scenario("baseline", preset="city", days=60).model_copy(update={"burn_in": 90})
    seed = replicate_seeds(5, 1)[0]
    made = CoGovernanceModel(apply_parameters(base, truth).model_copy(update={"seed": seed})).run().summary()
    targets = Targets(target=[
        Target(id="S1", kpi="disputes_per_1000_year", value=made["disputes_per_1000_year"],
               low=made["disputes_per_1000_year"] - 1.0, high=made["disputes_per_1000_year"] + 1.0),
        Target(id="S2", kpi="dept_resolved_share", value=made["dept_resolved_share"],
               low=made["dept_resolved_share"] - 0.05, high=made["dept_resolved_share"] + 0.05),
    ])
    result = calibrate(base, targets, list(truth), tmp_path, seeds=(5,), population=16, generations=4, reps=1,
                       final_reps=1, executor="serial", progress=False)
    ranges = fit_ranges()
    table = result["parameters"].set_index("parameter")
    for name, value in truth.items():
        lo, hi = ranges[name]
        row = table.loc[name]
        assert row["q05"] <= value <= row["q95"], (name, row["q05"], row["q95"])
        assert abs(row["median"] - value) <= 0.1 * (hi - lo), (name, row["median"])
    assert result["targets"]["in_band"].all()


# ------------------------------------------------------------------------------------------------
# The ABC itself, on an analytic "model" (positive controls of the inference, no simulation)
# ------------------------------------------------------------------------------------------------

P, Q = "detection.p_report", "handling.skill_street"


def _analytic(monkeypatch, calls=None):
    """Replace the runs by a model whose KPI is exactly the parameter p_report: the target pins p_report
    to 0.05 +/- 0.005 and says nothing about skill_street."""
    def evaluate(scenario, targets, names, points, seeds, out, spec, label, executor, workers, progress):
        if calls is not None:
            calls.append(points.copy())
        frame = pd.DataFrame(points, columns=names)
        frame["resolution_rate"] = frame[P]
        frame["distance"] = [targets.distance({"resolution_rate": v}) for v in frame[P]]
        return frame
    monkeypatch.setattr(cal, "_evaluate", evaluate)


ANALYTIC = Targets(target=[Target(id="A", kpi="resolution_rate", value=0.05, low=0.045, high=0.055)])


def test_the_chain_concentrates_on_what_the_target_pins_and_leaves_the_rest_at_its_prior(monkeypatch, tmp_path):
    _analytic(monkeypatch)
    hist, pool = cal.run_chain(None, ANALYTIC, [P, Q], tmp_path, seed=3, population=40, generations=6, reps=1,
                               progress=False)
    lo, hi = fit_ranges()[P]
    assert pool["weight"].sum() == pytest.approx(1.0) and len(pool) == cal.kept_count(40, cal.ALPHA)
    # kept points are the nearest of all run, and each generation's tolerance shrinks
    assert pool["distance"].max() <= hist["distance"].quantile(0.5)
    assert abs(np.average(pool[P], weights=pool["weight"]) - 0.05) < 0.05 * (hi - lo)
    table = cal.identifiability(pool.assign(root_seed=3), hist, [P, Q], ANALYTIC, {P: 0.05, Q: 0.6})
    verdicts = dict(zip(table["parameter"], table["verdict"], strict=True))
    assert verdicts[P] == "pinned" and verdicts[Q] != "pinned"
    assert table.set_index("parameter").loc[P, "informed_by"].startswith("A (")
    assert table.set_index("parameter").loc[Q, "informed_by"] == "none"


def test_proposals_are_inside_the_prior_and_the_same_for_the_same_seed(monkeypatch, tmp_path):
    first, second = [], []
    for calls, where in ((first, "a"), (second, "b")):
        _analytic(monkeypatch, calls)
        cal.run_chain(None, ANALYTIC, [P, Q], tmp_path / where, seed=4, population=12, generations=3, reps=1,
                      progress=False)
    assert len(first) == len(second) >= 2
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    ranges = fit_ranges()
    for batch in first:
        for k, name in enumerate((P, Q)):
            assert (batch[:, k] >= ranges[name][0]).all() and (batch[:, k] <= ranges[name][1]).all()
    _analytic(monkeypatch, other := [])
    cal.run_chain(None, ANALYTIC, [P, Q], tmp_path / "c", seed=5, population=12, generations=3, reps=1, progress=False)
    assert not np.array_equal(other[0], first[0])  # another root seed, another chain


def test_points_where_the_proposals_drew_densely_weigh_less():
    """The importance weight prior / mixture of the proposals: a point where the kernel mass is low stands
    for more; with generation 1 alone (the prior) every weight is 1."""
    lo, hi = np.array([0.0]), np.array([1.0])
    kept = np.array([[0.5], [0.52]])
    cov = cal._kernel(kept, np.ones(2), lo, hi)
    points = np.array([[0.51], [0.6], [0.95]])
    assert cal._mixture_weights(points, [], 10, lo, hi) == pytest.approx([1.0, 1.0, 1.0])
    w = cal._mixture_weights(points, [(kept, np.array([0.5, 0.5]), cov, 5)], 10, lo, hi)
    assert w[2] > w[1] > w[0] > 0
    assert w[2] == pytest.approx(15 / 10, rel=1e-3)  # far from the kernel: only the prior could draw it


def test_ensemble_targets_give_the_weighted_share_of_members_in_band():
    ensemble = pd.DataFrame({"resolution_rate": [0.05, 0.05, 0.2], "weight": [0.25, 0.25, 0.5]})
    row = cal.ensemble_targets(ensemble, ANALYTIC).iloc[0]
    assert row["share_in_band"] == pytest.approx(0.5)


def test_a_pattern_of_shape_holds_only_in_its_order_and_is_never_fitted():
    pat = cal.Pattern(id="L", kpis=["escalations_to_street", "escalations_to_district"], order="decreasing")
    assert pat.holds({"escalations_to_street": 10, "escalations_to_district": 3})
    assert not pat.holds({"escalations_to_street": 3, "escalations_to_district": 3})   # strictly
    assert not pat.holds({"escalations_to_street": 10, "escalations_to_district": float("nan")})
    targets = Targets(target=[Target(id="A", kpi="resolution_rate", value=0.5, low=0.4, high=0.6)], pattern=[pat])
    means = {"resolution_rate": 0.5, "escalations_to_street": 1, "escalations_to_district": 9}
    assert targets.distance(means) == 0  # the pattern does not count in the distance
    ensemble = pd.DataFrame({"escalations_to_street": [10, 1], "escalations_to_district": [2, 5], "weight": [0.75, 0.25]})
    final = pd.DataFrame({"escalations_to_street": [9.0, 11.0], "escalations_to_district": [2.0, 4.0]})
    row = cal.pattern_table(final, ensemble, targets).iloc[0]
    assert row["holds"] and row["share_holding"] == pytest.approx(0.75) and row["best"] == "10 > 3"
    assert load_targets().pattern[0].kpis == ["escalations_to_street", "escalations_to_district", "escalations_to_city"]


def test_a_pattern_naming_an_unknown_kpi_is_refused(tmp_path):
    bad = tmp_path / "t.toml"
    bad.write_text('[[target]]\nid = "X"\nkpi = "resolution_rate"\nvalue = 0.5\nlow = 0.4\nhigh = 0.6\n'
                   '[[pattern]]\nid = "L"\nkpis = ["escalations", "nope"]\n')
    with pytest.raises(CalibrationError, match=r"key 'pattern\.0\.kpis\.1': unknown KPI 'nope'"):
        load_targets(bad)
