"""The calibrated ensemble as the parameter sets of a study: drawing members, bad ensembles, and
`cogov reproduce --members` end to end."""

import numpy as np
import pandas as pd
import pytest

from sim.cli import main as cli_main
from sim.experiments import claims as R
from sim.experiments.ensemble import draw_members, load_posterior, member_scenario
from sim.params import ScenarioError, load_scenario

P, Q = "detection.p_report", "handling.skill_street"


def posterior(path, weights=(0.5, 0.3, 0.2)):
    table = pd.DataFrame({P: [0.03, 0.06, 0.09][:len(weights)], Q: [0.5, 0.6, 0.7][:len(weights)],
                          "weight": list(weights), "distance": 1.0})
    table.to_parquet(path, index=False)
    return path


def test_members_are_drawn_by_weight_and_the_same_for_the_same_seed(tmp_path):
    table = load_posterior(posterior(tmp_path / "p.parquet"))
    rows = draw_members(table, 1000, seed=3)
    assert rows == draw_members(table, 1000, seed=3)
    assert len({tuple(draw_members(table, 3, seed)) for seed in range(10)}) > 1  # the offset comes from the seed
    counts = np.bincount(rows, minlength=3) / 1000
    assert counts == pytest.approx([0.5, 0.3, 0.2], abs=0.002)  # systematic resampling: within 1/n of each weight
    assert draw_members(load_posterior(posterior(tmp_path / "one.parquet", (0.0, 1.0, 0.0))), 5, 1) == [1] * 5


def test_a_member_is_the_baseline_with_its_parameter_values(tmp_path):
    table = load_posterior(posterior(tmp_path / "p.parquet"))
    base = load_scenario("baseline", preset="classroom", days=5)
    sc = member_scenario(base, table, 2)
    assert sc.detection.p_report == pytest.approx(0.09) and sc.handling.skill_street == pytest.approx(0.7)
    assert sc.levers == base.levers


@pytest.mark.parametrize("table, words", [
    (None, "no calibrated ensemble"),
    (pd.DataFrame({"weight": [1.0]}), "not an ensemble"),
    (pd.DataFrame({P: [0.05], "weight": [-1.0]}), "key 'weight'"),
    (pd.DataFrame({P: [0.05], "weight": [np.nan]}), "key 'weight'"),
])
def test_a_missing_or_malformed_ensemble_is_one_clear_error(tmp_path, table, words):
    path = tmp_path / "p.parquet"
    if table is not None:
        table.to_parquet(path, index=False)
    with pytest.raises(ScenarioError, match=words):
        load_posterior(path)
    path.write_bytes(b"not parquet")
    with pytest.raises(ScenarioError, match="not a readable parquet file"):
        load_posterior(path)


def test_reproduce_refuses_a_bad_posterior_with_exit_2(tmp_path, capsys):
    assert cli_main(["reproduce", "--members", "3", "--posterior", str(tmp_path / "none.parquet"),
                     "--preset", "classroom", "--out", str(tmp_path / "s"), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no calibrated ensemble" in err[0] and not (tmp_path / "s").exists()


@pytest.mark.slow
def test_reproduce_over_ensemble_members_writes_support_shares_and_resumes(tmp_path, capsys):
    post = posterior(tmp_path / "p.parquet")
    out = tmp_path / "study"
    args = ["reproduce", "--members", "3", "--posterior", str(post), "--preset", "classroom", "--reps", "2",
            "--days", "15", "--out", str(out), "--findings", str(tmp_path / "F.md"), "--executor", "serial", "-q"]
    assert cli_main(args) == 0
    printed = capsys.readouterr().out
    table = pd.read_csv(out / "findings.csv")
    for col in ("claim", "test", "kpi", "effect", "ci_low", "ci_high", "mid", "verdict", "support_share"):
        assert col in table.columns
    assert (table["members"] == 3).all() and table["support_share"].between(0, 1).all()
    assert table["verdict"].isin(R.VERDICTS).all()
    runs = len(list((out / "runs").glob("*.parquet")))
    drawn = len(set(draw_members(load_posterior(post), 3, 1)))
    assert runs == drawn * len(R.ARMS) * 2  # a set drawn twice shares its runs
    md = (tmp_path / "F.md").read_text(encoding="utf-8")
    assert "3 members of the calibrated ensemble" in md and "members supported" in md
    assert "3 ensemble members x" in printed
    assert cli_main(args) == 0  # resumed: every run reused, the same findings
    assert f"({runs} runs, {runs} reused)" in capsys.readouterr().out
    pd.testing.assert_frame_equal(pd.read_csv(out / "findings.csv"), table)
