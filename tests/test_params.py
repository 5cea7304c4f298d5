"""Scenario loading and validation (MODEL §6; sim/params.py).

Every bad input must raise ``ScenarioError`` with a message that names the file, the key and
what is allowed. Temporary scenario files are written under pytest's ``tmp_path``.
"""

from __future__ import annotations

import pytest

from sim import Scenario, ScenarioError, load_scenario
from sim.io import scenario_toml
from sim.params import LEVER_NAMES, PRESETS, scenarios_dir

BUILTIN = sorted(p.stem for p in scenarios_dir().glob("*.toml"))
EXPECTED_BUILTIN = {"baseline", "empowerment_only", "empowerment", "whistle", "incentives", "info_sharing",
                    "fengqiao", "social_mobilisation", "wuzhi", "tianjin", "whistle_after_warmup"}


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return str(info.value)


# ---------------------------------------------------------------------------------------------
# built-in scenarios
# ---------------------------------------------------------------------------------------------


def test_builtin_scenarios_are_all_there():
    assert EXPECTED_BUILTIN <= set(BUILTIN)


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_scenario_loads_by_path_and_by_name(name):
    by_path = load_scenario(scenarios_dir() / f"{name}.toml")
    by_name = load_scenario(name)
    assert isinstance(by_path, Scenario)
    assert by_path == by_name
    assert by_path.name == name  # each file names itself (the name is not inherited from `extends`)
    assert by_path.description, f"{name}.toml has no description"
    assert by_path.description_zh, f"{name}.toml has no description_zh (the zh report shows it)"


def test_builtin_reform_scenarios_differ_from_baseline_only_in_levers_and_labels():
    base = load_scenario("baseline")
    for name in ("empowerment_only", "empowerment", "whistle", "incentives", "info_sharing", "fengqiao",
                 "social_mobilisation", "wuzhi"):
        sc = load_scenario(name)
        assert sc.levers != base.levers, f"{name} changes no lever"
        for section in ("structure", "emergence", "detection", "lifecycle", "handling", "residents",
                        "workforce", "evaluation", "costs"):
            assert getattr(sc, section) == getattr(base, section), f"{name}.{section} differs from baseline"
        assert (sc.preset, sc.days, sc.seed) == (base.preset, base.days, base.seed)


def test_tianjin_scenario_uses_the_tianjin_preset():
    sc = load_scenario("tianjin")
    assert sc.preset == "tianjin"
    assert sc.counts() == PRESETS["tianjin"]
    assert sc.n_residents() == PRESETS["tianjin"]["population"]


# ---------------------------------------------------------------------------------------------
# extends
# ---------------------------------------------------------------------------------------------


PARENT = """
name = "parent"
description = "the parent"
description_zh = "父场景"
preset = "classroom"
days = 40
seed = 3

[levers]
info_sharing = 0.4
whistle_power = 0.2

[detection]
p_report = 0.05
"""


def test_extends_child_overrides_and_inherits_the_rest(tmp_path):
    write(tmp_path, "parent.toml", PARENT)
    child = write(tmp_path, "child.toml", """
extends = "parent.toml"
name = "child"
days = 20

[levers]
whistle_power = 0.9
""")
    sc = load_scenario(child)
    assert sc.name == "child"
    assert sc.days == 20                                  # overridden
    assert sc.levers.whistle_power == 0.9                 # overridden inside a table
    assert sc.levers.info_sharing == 0.4                  # same table, inherited key by key
    assert sc.preset == "classroom" and sc.seed == 3      # inherited top-level values
    assert sc.detection.p_report == 0.05                  # inherited table
    assert sc.levers.w_process == load_scenario(None).levers.w_process  # untouched default


def test_extends_does_not_inherit_name_or_description(tmp_path):
    write(tmp_path, "parent.toml", PARENT)
    child = write(tmp_path, "child.toml", 'extends = "parent.toml"\n')
    sc = load_scenario(child)
    assert sc.name != "parent"
    assert sc.description != "the parent"
    assert sc.description_zh == ""
    assert sc.days == 40


def test_extends_chain_resolves_relative_to_each_file(tmp_path):
    write(tmp_path, "parent.toml", PARENT)
    write(tmp_path, "sub/child.toml", 'extends = "../parent.toml"\nname = "child"\n[levers]\nautomation = 0.7\n')
    grandchild = write(tmp_path, "sub/deeper/grandchild.toml",
                       'extends = "../child.toml"\nname = "grandchild"\n[levers]\ninfo_sharing = 0.1\n')
    sc = load_scenario(grandchild)
    assert sc.name == "grandchild"
    assert sc.levers.info_sharing == 0.1   # grandchild wins
    assert sc.levers.automation == 0.7     # from child
    assert sc.levers.whistle_power == 0.2  # from parent
    assert sc.days == 40 and sc.preset == "classroom"


def test_builtin_whistle_extends_baseline():
    base, whistle = load_scenario("baseline"), load_scenario("whistle")
    assert (whistle.levers.whistle_power, whistle.levers.w_local) == (0.8, 0.3)
    changed = {"whistle_power", "w_local"}
    b, w = base.levers.model_dump(), whistle.levers.model_dump()
    assert {k: v for k, v in w.items() if k not in changed} == {k: v for k, v in b.items() if k not in changed}


def test_extends_absolute_path(tmp_path):
    parent = write(tmp_path, "elsewhere/parent.toml", PARENT)
    child = write(tmp_path, "child.toml", f'extends = "{parent.as_posix()}"\nname = "c"\n')
    assert load_scenario(child).days == 40


# ---------------------------------------------------------------------------------------------
# schedule
# ---------------------------------------------------------------------------------------------


def test_builtin_schedule_switches_levers_on_its_day():
    sc = load_scenario("whistle_after_warmup")
    base = load_scenario("baseline")
    assert sc.levers_on(0) == base.levers
    assert sc.levers_on(364) == base.levers
    on = sc.levers_on(365)
    assert (on.whistle_power, on.w_local) == (0.8, 0.3)
    assert sc.levers_on(729) == on
    # the other levers stay as they were
    assert on.model_copy(update={"whistle_power": 0.0, "w_local": 0.0}) == base.levers


def test_schedule_entries_apply_in_day_order_whatever_their_order_in_the_file(tmp_path):
    path = write(tmp_path, "s.toml", """
[levers]
info_sharing = 0.1

[[schedule]]
day = 20
levers = { info_sharing = 0.9 }

[[schedule]]
day = 10
levers = { info_sharing = 0.5, automation = 0.3 }
""")
    sc = load_scenario(path)
    assert [sc.levers_on(d).info_sharing for d in (0, 9, 10, 19, 20, 500)] == [0.1, 0.1, 0.5, 0.5, 0.9, 0.9]
    assert sc.levers_on(9).automation == 0.0
    assert sc.levers_on(25).automation == 0.3  # set on day 10, untouched on day 20
    assert sc.levers.info_sharing == 0.1       # the base values are not modified


def test_schedule_with_unknown_lever_is_rejected(tmp_path):
    path = write(tmp_path, "s.toml", "[[schedule]]\nday = 5\nlevers = { whistle_pwr = 0.5 }\n")
    msg = error_of(path)
    assert str(path.resolve()) in msg
    assert "schedule" in msg and "whistle_pwr" in msg
    assert all(name in msg for name in LEVER_NAMES), "message does not list the allowed levers"


def test_schedule_with_out_of_range_value_is_rejected(tmp_path):
    path = write(tmp_path, "s.toml", "[[schedule]]\nday = 5\nlevers = { whistle_power = 1.5 }\n")
    msg = error_of(path)
    assert str(path.resolve()) in msg
    assert "schedule" in msg and "whistle_power" in msg
    assert "less than or equal to 1" in msg


def test_schedule_with_negative_day_is_rejected(tmp_path):
    path = write(tmp_path, "s.toml", "[[schedule]]\nday = -1\nlevers = { whistle_power = 0.5 }\n")
    msg = error_of(path)
    assert str(path.resolve()) in msg
    assert "schedule" in msg and "day" in msg and "greater than or equal to 0" in msg


# ---------------------------------------------------------------------------------------------
# bad inputs: one ScenarioError naming the file, the key and what is allowed
# ---------------------------------------------------------------------------------------------

BAD = {
    # id: (file content, fragments the message must contain)
    "unknown_top_level_key": ('name = "x"\nfoo = 1\n',
                              ["'foo'", "unknown key", "allowed", "levers", "schedule", "preset"]),
    "unknown_section": ('[leverz]\ninfo_sharing = 0.5\n', ["'leverz'", "unknown key", "allowed", "levers"]),
    "unknown_lever": ("[levers]\ninfo_sharin = 0.5\n",
                      ["levers.info_sharin", "unknown key", "allowed", *LEVER_NAMES]),
    "unknown_nested_key": ("[handling]\ndeadline_comunity = 3\n",
                           ["handling.deadline_comunity", "allowed", "deadline_community"]),
    "wrong_type_days": ('days = "ten"\n', ["'days'", "expected a whole number", "string 'ten'"]),
    "wrong_type_lever": ('[levers]\ninfo_sharing = "lots"\n', ["levers.info_sharing", "expected a number"]),
    "wrong_type_section": ('levers = 3\n', ["'levers'", "expected a table"]),
    # no silent coercion (issue 13): a string, a bool or a float where the schema wants a number or a count
    "number_as_string": ('[levers]\ninfo_sharing = "0.5"\n', ["levers.info_sharing", "expected a number",
                                                              "string '0.5'"]),
    "bool_as_days": ("days = true\n", ["'days'", "expected a whole number", "boolean true"]),
    "bool_as_number": ("[levers]\nautomation = false\n", ["levers.automation", "expected a number", "boolean false"]),
    "float_as_count": ("days = 30.0\n", ["'days'", "expected a whole number", "number 30.0"]),
    "list_as_number": ("[levers]\nautomation = [0.1]\n", ["levers.automation", "expected a number", "list"]),
    # every number bounded to what the mechanisms compute with: what validates also runs (issue 13)
    "huge_volunteer_days": ("[residents]\nvolunteer_days_year = 1e300\n",
                            ["residents.volunteer_days_year", "less than or equal to 365"]),
    "huge_staff_day": ("[costs]\nstaff_day = 1e308\n", ["costs.staff_day", "less than or equal to 1000000"]),
    "huge_population": ("[structure]\npopulation = 1000000000\n",
                        ["structure.population", "less than or equal to 50000000"]),
    "huge_triage_days": ("[handling]\ntriage_days = 9223372036854775807\n",
                         ["handling.triage_days", "less than or equal to 365"]),
    "infinite_number": ("[levers]\nautomation = inf\n", ["levers.automation", "finite number"]),
    "name_with_a_path": ('name = "../../outside"\n', ["'name'", "letters, digits"]),
    "out_of_range_share": ("[levers]\ninfo_sharing = 1.5\n",
                           ["levers.info_sharing", "less than or equal to 1", "1.5"]),
    "out_of_range_negative": ("[levers]\nautomation = -0.1\n",
                              ["levers.automation", "greater than or equal to 0", "-0.1"]),
    "days_zero": ("days = 0\n", ["'days'", "greater than or equal to 1", "0"]),
    "days_too_many": ("days = 100000\n", ["'days'", "less than or equal to 36500"]),
    "unknown_preset": ('preset = "huge"\n', ["'preset'", "classroom", "city", "tianjin"]),
    "extends_not_a_string": ("extends = 3\n", ["'extends'", "path string"]),
}


@pytest.mark.parametrize("content,fragments", BAD.values(), ids=BAD.keys())
def test_bad_value_names_file_key_and_what_is_allowed(tmp_path, content, fragments):
    path = write(tmp_path, "bad.toml", content)
    msg = error_of(path)
    assert str(path.resolve()) in msg
    missing = [f for f in fragments if f not in msg]
    assert not missing, f"message lacks {missing}: {msg}"


@pytest.mark.parametrize("content,key", [("[emergence]\ndisputes_per_1000_year = inf\n", "disputes_per_1000_year"),
                                         ("[structure]\npopulation_scale = inf\n", "population_scale")],
                         ids=["emergence_rate", "population_scale"])
def test_infinite_value_is_rejected(tmp_path, content, key):
    path = write(tmp_path, "bad.toml", content)
    msg = error_of(path)
    assert str(path.resolve()) in msg and key in msg


def test_nan_value_is_rejected(tmp_path):
    path = write(tmp_path, "bad.toml", "[costs]\nstaff_day = nan\n")
    msg = error_of(path)
    assert str(path.resolve()) in msg and "costs.staff_day" in msg


def test_not_utf8_names_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_bytes(b'name = "\xff\xfe"\n')
    msg = error_of(path)
    assert str(path.resolve()) in msg


def test_scenario_error_is_a_value_error():
    assert issubclass(ScenarioError, ValueError)


def test_malformed_toml_names_file_and_line(tmp_path):
    path = write(tmp_path, "bad.toml", 'name = "x"\ndays = \n')
    msg = error_of(path)
    assert str(path.resolve()) in msg
    assert "malformed TOML" in msg
    assert "line 2" in msg


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.toml"
    msg = error_of(path)
    assert str(path.resolve()) in msg
    assert "not found" in msg


def test_unknown_builtin_name_lists_the_builtins():
    with pytest.raises(ScenarioError, match="no scenario file or built-in scenario named") as err:
        load_scenario("no_such_builtin_scenario")
    assert "baseline" in str(err.value) and "wuzhi" in str(err.value)


def test_extends_a_builtin_by_name(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('extends = "baseline"\nname = "mine"\n[levers]\ninfo_sharing = 0.5\n')
    sc = load_scenario(f)
    assert sc.levers.info_sharing == 0.5
    assert sc.levers.w_process == load_scenario("baseline").levers.w_process


def test_unknown_keyword_override_is_named():
    with pytest.raises(ScenarioError, match="'info_sharing' passed as keyword"):
        load_scenario("baseline", info_sharing=0.5)


def test_extends_missing_file_names_the_child_and_the_parent(tmp_path):
    child = write(tmp_path, "child.toml", 'extends = "nope.toml"\n')
    msg = error_of(child)
    assert str(child.resolve()) in msg
    assert "'extends'" in msg
    assert str((tmp_path / "nope.toml").resolve()) in msg
    assert "not found" in msg


def test_extends_cycle_is_reported(tmp_path):
    a = write(tmp_path, "a.toml", 'extends = "b.toml"\nname = "a"\n')
    b = write(tmp_path, "b.toml", 'extends = "a.toml"\nname = "b"\n')
    msg = error_of(a)
    assert "'extends'" in msg and "cycle" in msg
    assert str(a.resolve()) in msg and str(b.resolve()) in msg


def test_extends_self_is_a_cycle(tmp_path):
    a = write(tmp_path, "a.toml", 'extends = "a.toml"\n')
    msg = error_of(a)
    assert "cycle" in msg and str(a.resolve()) in msg


def test_error_in_parent_names_the_parent_file(tmp_path):
    parent = write(tmp_path, "parent.toml", "[levers]\nwhistle_power = 2.0\n")
    child = write(tmp_path, "child.toml", 'extends = "parent.toml"\nname = "c"\n')
    msg = error_of(child)
    assert str(parent.resolve()) in msg
    assert "levers.whistle_power" in msg


def test_bad_override_is_a_scenario_error():
    with pytest.raises(ScenarioError, match="days"):
        load_scenario("baseline", days=0)
    with pytest.raises(ScenarioError, match="preset"):
        load_scenario("baseline", preset="village")


def test_bad_dict_is_a_scenario_error():
    with pytest.raises(ScenarioError, match="levers.info_sharing"):
        load_scenario({"levers": {"info_sharing": 3}})


# ---------------------------------------------------------------------------------------------
# overrides and presets
# ---------------------------------------------------------------------------------------------


def test_preset_override_replaces_explicit_counts(tmp_path):
    path = write(tmp_path, "s.toml", 'preset = "city"\n[structure]\ncommunities = 100\nstreets = 10\n')
    assert load_scenario(path).counts()["communities"] == 100
    sc = load_scenario(path, preset="classroom")
    assert sc.counts() == PRESETS["classroom"]


def test_overrides_replace_top_level_fields():
    sc = load_scenario("baseline", seed=7, days=12)
    assert (sc.seed, sc.days) == (7, 12)
    sc = load_scenario("baseline", seed=None, days=None)  # None means "the scenario's"
    assert (sc.seed, sc.days) == (1, 365)


# ---------------------------------------------------------------------------------------------
# round trip of the fully resolved scenario.toml
# ---------------------------------------------------------------------------------------------


def resolved(sc: Scenario) -> Scenario:
    """The same scenario with the preset's structure counts written out."""
    return sc.model_copy(update={"structure": sc.structure.model_copy(update=sc.counts())})


@pytest.mark.parametrize("name", BUILTIN)
def test_scenario_toml_round_trip(tmp_path, name):
    sc = load_scenario(name, preset="classroom", seed=5)
    path = write(tmp_path, "scenario.toml", scenario_toml(sc))
    back = load_scenario(path)
    assert back == resolved(sc)
    assert back.counts() == sc.counts()
    assert back.levers_on(10_000) == sc.levers_on(10_000)
    # a second trip is a fixed point, byte for byte
    assert scenario_toml(back) == scenario_toml(sc)


def test_scenario_toml_round_trip_with_schedule_and_custom_values(tmp_path):
    sc = load_scenario({
        "name": "custom", "description": "quotes \" and 中文", "preset": "classroom", "days": 77, "seed": 0,
        "structure": {"communities": 20, "population_scale": 2.5, "mean_degree": 6},
        "levers": {"info_sharing": 0.123456789, "volunteer_rate": 0.5},
        "lifecycle": {"reopen_window": 0},
        "schedule": [{"day": 30, "levers": {"whistle_power": 0.7}}, {"day": 0, "levers": {"automation": 1.0}}],
    })
    path = write(tmp_path, "scenario.toml", scenario_toml(sc))
    back = load_scenario(path)
    assert back == resolved(sc)
    assert back.structure.communities == 20 and back.structure.streets == PRESETS["classroom"]["streets"]
    assert back.levers.info_sharing == 0.123456789
    assert back.description == sc.description
    assert [(e.day, e.levers) for e in back.schedule] == [(30, {"whistle_power": 0.7}), (0, {"automation": 1.0})]


def test_section_overrides_merge_into_the_scenario():
    sc = load_scenario("empowerment", levers={"whistle_power": 0.5})
    assert sc.levers.whistle_power == 0.5
    assert sc.levers.authority_devolution == load_scenario("empowerment").levers.authority_devolution  # kept
