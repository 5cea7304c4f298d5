"""Sweeps with effects: each reform arm runs at every point beside the point itself, on the same seeds,
and `cogov sensitivity` gives the indices of the effects (arm − point), not of the levels."""

import numpy as np
import pandas as pd
import pytest
from SALib.sample import sobol as sobol_sample
from test_sweeps import cli, write_spec

from sim.experiments.analysis import effect_matrix, effect_sensitivity_table
from sim.experiments.claims import ARMS
from sim.experiments.spec import SpecError, build_tasks, load_spec, n_tasks
from sim.experiments.store import SweepStore
from sim.report.sensitivity import SECTION_BEGIN, SECTION_END, kept_section, with_section


def test_effect_indices_name_the_parameter_the_effect_depends_on_not_the_one_the_levels_do():
    """Levels depend on b only, the reform's effect on a only: the effect's indices put everything on a."""
    problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0.0, 1.0], [0.0, 1.0]]}
    X = sobol_sample.sample(problem, 64, calc_second_order=False, seed=1)
    rows = []
    for i, (a, b) in enumerate(X):
        for r in range(2):
            level = 10.0 + 3.0 * b + 0.1 * r
            rows += [{"point": i, "replicate": r, "arm": 0, "bounces": level},
                     {"point": i, "replicate": r, "arm": 1, "bounces": level - 5.0 * a}]
    summaries = pd.DataFrame(rows)
    np.testing.assert_allclose(effect_matrix(summaries, len(X), "bounces", 1), -5.0 * X[:, 0])
    table = effect_sensitivity_table("sobol", problem, X, summaries, ["bounces"], ["info_sharing"]).set_index(
        "parameter")
    assert table.loc["a", "ST"] > 0.9 and abs(table.loc["b", "ST"]) < 0.05
    assert (table["effect"] == "info_sharing").all() and table["effect_mean"].iloc[0] == pytest.approx(-2.5, abs=0.1)
    # fewer bounces is better; the MID is 5% of the point's own level (about 0.5 here): the effect 5a is
    # beyond it where a > 0.1 (about 90% of the sample), and never worse
    mid = 0.05 * (10.05 + 3.0 * X[:, 1])
    assert table["share_better"].iloc[0] == pytest.approx(np.mean(5.0 * X[:, 0] > mid))
    assert 0.85 < table["share_better"].iloc[0] < 0.95 and table["share_worse"].iloc[0] == 0.0


def test_the_sensitivity_section_of_findings_is_replaced_in_place_or_appended():
    section = f"{SECTION_BEGIN}\nnew\n{SECTION_END}"
    doc = "# Findings\n\nbody\n"
    once = with_section(doc, section)
    assert once.startswith(doc.rstrip()) and kept_section(once) == section
    twice = with_section(with_section(once, f"{SECTION_BEGIN}\nolder\n{SECTION_END}") + "tail\n", section)
    assert twice.count(SECTION_BEGIN) == 1 and "older" not in twice and twice.endswith("tail\n")
    assert kept_section(doc) == ""


def test_a_sweep_with_effects_runs_each_arm_at_every_point_on_the_same_seeds(tmp_path):
    spec_path = write_spec(tmp_path / "e.toml", {"handling.skill_street": [0.5, 0.8]}, effects=["incentives"])
    spec, base = load_spec(spec_path)
    tasks = build_tasks(spec, base)
    assert len(tasks) == n_tasks(spec) == 2 * 2 * 2  # points x replicates x (the point + one arm)
    by = {(t["point"], t["arm"], t["replicate"]): t for t in tasks}
    want = {k: v for k, v in ARMS["incentives"].changes["levers"].items() if v != base.levers.model_dump()[k]}
    assert want  # the arm changes some lever of the base, so the check below has something to check
    for (point, arm, rep), t in by.items():
        sc = t["scenario"]
        assert sc["handling"]["skill_street"] == [0.5, 0.8][point]  # the arm keeps the point's parameters
        assert t["seed"] == by[(point, 0, rep)]["seed"]              # and its seeds
        assert all((sc["levers"][k] == v) == (arm == 1) for k, v in want.items())


def test_an_unknown_effect_is_refused_naming_the_key(tmp_path):
    with pytest.raises(SpecError, match=r"effects: unknown arm 'nope'; allowed: .*incentives"):
        load_spec(write_spec(tmp_path / "e.toml", {"handling.skill_street": [0.5]}, effects=["nope"]))


@pytest.mark.slow
def test_sensitivity_of_effects_end_to_end(tmp_path, capsys):
    spec = write_spec(tmp_path / "e.toml", {"handling.skill_street": (0.5, 0.8), "evaluation.intrinsic": (0.25, 0.75)},
                      sampler="sobol", samples=2, replicates=1, days=20, effects=["info_sharing"])
    out = tmp_path / "out"
    findings = tmp_path / "docs" / "FINDINGS.md"
    findings.parent.mkdir()
    findings.write_text("# Findings\n\nthe claims\n", encoding="utf-8")
    assert cli("sensitivity", spec, "--method", "sobol", "--out", out, "--executor", "serial", "-q",
               "--findings", findings) == 0
    printed = capsys.readouterr().out
    md = findings.read_text(encoding="utf-8")
    assert md.startswith("# Findings\n\nthe claims") and md.count(SECTION_BEGIN) == 1
    assert "Its effects depend chiefly on" in md and "FINDINGS_sensitivity.png" in md
    assert findings.with_name("FINDINGS_sensitivity.png").read_bytes()[:4] == b"\x89PNG"
    assert len(SweepStore(out).manifest()["tasks"]) == 2 * 4 * 2
    table = pd.read_csv(out / "sensitivity.csv")
    assert set(table["effect"]) == {"info_sharing"} and {"ST", "S1", "effect_mean"} <= set(table.columns)
    assert "info_sharing" in printed and (out / "sensitivity.png").is_file()
    assert cli("results", out) == 0  # the results table keeps the arms apart
    assert "arm" in capsys.readouterr().out


def test_every_built_in_spec_loads_within_the_task_limit():
    from sim.params import scenarios_dir
    specs = sorted((scenarios_dir() / "sweeps").glob("*.toml"))
    assert any(p.stem == "effects_sobol" for p in specs)
    for path in specs:
        spec, _ = load_spec(path)
        assert n_tasks(spec) >= 1
    spec, _ = load_spec(scenarios_dir() / "sweeps" / "effects_sobol.toml")
    assert len(spec.parameters) >= 8 and spec.effects == ["devolution_resources", "incentives", "info_sharing"]


def test_findings_needs_sobol_and_a_spec_with_effects(tmp_path, capsys):
    plain = write_spec(tmp_path / "p.toml", {"handling.skill_street": (0.5, 0.8)}, sampler="sobol", samples=2,
                       replicates=1, days=5)
    findings = tmp_path / "FINDINGS.md"
    assert cli("sensitivity", plain, "--method", "morris", "--findings", findings, "-q") == 2
    assert "needs --method sobol" in capsys.readouterr().err
    assert cli("sensitivity", plain, "--method", "sobol", "--findings", findings, "--out", tmp_path / "o", "-q") == 2
    assert "has no effects (key 'effects')" in capsys.readouterr().err
    assert not findings.exists() and not (tmp_path / "o").exists()  # refused before running anything
