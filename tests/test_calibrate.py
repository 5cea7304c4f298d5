"""`cogov calibrate`: the distance, the targets file, the command, and recovery of known parameters."""

import math

import pandas as pd
import pytest

from sim import CoGovernanceModel
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
    (["--budget", "3", "--rounds", "2"], "--budget (3) must give each of the 2 rounds at least 2 points"),
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
    argv = ["--preset", "classroom", "--days", "20", "--budget", "4", "--rounds", "2", "--reps", "1",
            "--final-reps", "2", "--executor", "serial", "--parameters", "detection.p_report", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    for name in ("fitted.toml", "targets.csv", "parameters.csv", "history.csv", "calibration.png"):
        assert (out / name).is_file(), name
    table = pd.read_csv(out / "targets.csv")
    assert list(table["id"]) == [t.id for t in load_targets().target]
    assert set(table["in_band"]) <= {True, False}
    assert "in band" in printed and "C8a" in printed
    fitted = float(pd.read_csv(out / "parameters.csv").set_index("parameter").loc["detection.p_report", "fitted"])
    child = tmp_path / "child.toml"
    child.write_text(f'extends = "{(out / "fitted.toml").as_posix()}"\nname = "child"\n')
    assert load_scenario(child).detection.p_report == fitted
    assert main(argv) == 0  # resumes from the stores: the same result again
    assert float(pd.read_csv(out / "parameters.csv").set_index("parameter").loc["detection.p_report",
                                                                                 "fitted"]) == fitted


@pytest.mark.slow
def test_recovers_parameters_from_a_synthetic_target(tmp_path):
    """Targets made by the model itself at known values: calibration on the same seeds finds them again
    within a tenth of each search range (the tolerance we state in docs/CALIBRATION.md)."""
    truth = {"emergence.disputes_per_1000_year": 10.0, "handling.skill_department": 0.6}
    base = load_scenario("baseline", preset="city", days=60)
    seed = replicate_seeds(5, 1)[0]
    made = CoGovernanceModel(apply_parameters(base, truth).model_copy(update={"seed": seed})).run().summary()
    targets = Targets(target=[
        Target(id="S1", kpi="disputes_per_1000_year", value=made["disputes_per_1000_year"],
               low=made["disputes_per_1000_year"] - 1.0, high=made["disputes_per_1000_year"] + 1.0),
        Target(id="S2", kpi="dept_resolved_share", value=made["dept_resolved_share"],
               low=made["dept_resolved_share"] - 0.05, high=made["dept_resolved_share"] + 0.05),
    ])
    result = calibrate(base, targets, list(truth), tmp_path, budget=21, rounds=3, reps=1, final_reps=1, seed=5,
                       executor="serial", progress=False)
    ranges = fit_ranges()
    for name, value in truth.items():
        lo, hi = ranges[name]
        assert abs(result["values"][name] - value) <= 0.1 * (hi - lo), (name, result["values"][name])
    assert result["targets"]["in_band"].all()
