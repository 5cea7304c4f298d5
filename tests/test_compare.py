"""`cogov compare`: paired comparisons on common random numbers, the report, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.cli import main as cli_main
from sim.experiments.compare import analyse, load_scenarios, run_comparison


def compare(tmp_path, names, reps=3, days=45, name="cmp"):
    out = tmp_path / name
    run_comparison(load_scenarios(names, days, "classroom"), reps, out, root_seed=4, executor="serial",
                   progress=False)
    return analyse(out)


def test_a_scenario_compared_with_itself_differs_by_exactly_zero(tmp_path):
    comp = compare(tmp_path, ["baseline", "baseline"])
    assert comp.names == ["baseline#1", "baseline#2"]
    d = comp.diffs[comp.diffs["scenario"] == "baseline#2"]
    assert len(d) > 10
    assert (d["diff"].fillna(0) == 0).all()
    assert ((d["ci_low"].fillna(0) == 0) & (d["ci_high"].fillna(0) == 0)).all()


def test_common_random_numbers_pair_replicates(tmp_path):
    comp = compare(tmp_path, ["baseline", "info_sharing"])
    seeds = comp.summaries.pivot(index="replicate", columns="scenario", values="seed")
    assert (seeds["baseline"] == seeds["info_sharing"]).all()
    assert seeds["baseline"].nunique() == 3


def test_paired_difference_matches_a_hand_computed_paired_t(tmp_path):
    from scipy import stats
    comp = compare(tmp_path, ["baseline", "wuzhi"])
    s = comp.summaries.pivot(index="replicate", columns="scenario", values="resolution_rate")
    d = (s["wuzhi"] - s["baseline"]).to_numpy()
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    row = comp.diffs[(comp.diffs["scenario"] == "wuzhi") & (comp.diffs["kpi"] == "resolution_rate")].iloc[0]
    assert row["diff"] == pytest.approx(d.mean())
    assert row["ci_low"] == pytest.approx(d.mean() - half) and row["ci_high"] == pytest.approx(d.mean() + half)


def test_confidence_intervals_narrow_as_replicates_grow(tmp_path):
    few = compare(tmp_path, ["baseline", "whistle"], reps=3, name="few").stats
    many = compare(tmp_path, ["baseline", "whistle"], reps=10, name="many").stats
    width = lambda t: (t["ci_high"] - t["ci_low"]).to_numpy()  # noqa: E731
    key = ["scenario", "kpi"]
    merged = pd.merge(few, many, on=key, suffixes=("_few", "_many"))
    ok = merged["sd_few"].gt(0) & merged["sd_many"].gt(0)
    ratio = (merged["ci_high_many"] - merged["ci_low_many"]) / (merged["ci_high_few"] - merged["ci_low_few"])
    assert ok.sum() >= 10
    # t(2)/sqrt(3) = 2.48 against t(9)/sqrt(10) = 0.72: typical ratio about 0.3
    assert np.median(ratio[ok]) < 0.6


def test_same_inputs_same_numbers(tmp_path):
    a = compare(tmp_path, ["baseline", "fengqiao"], name="a")
    b = compare(tmp_path, ["baseline", "fengqiao"], name="b")
    pd.testing.assert_frame_equal(a.stats, b.stats)
    pd.testing.assert_frame_equal(a.diffs, b.diffs)


@pytest.mark.parametrize("args, words", [
    (["no_such_scenario"], "no scenario file or built-in scenario named"),
    (["baseline", "--reps", "0"], "--reps must be at least 1"),
    (["baseline", "--days", "0"], "--days must be between"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, args, words):
    out = tmp_path / "report"
    assert cli_main(["compare", *args, "--out", str(out), "--preset", "classroom", "-q"]) == 2
    assert words in capsys.readouterr().err
    assert not out.exists()


def test_unwritable_output_exits_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert cli_main(["compare", "baseline", "--out", str(blocker / "sub"), "--preset", "classroom", "-q"]) == 2
    assert "--out" in capsys.readouterr().err


SMALL = ["baseline", "whistle", "--preset", "classroom", "--days", "20", "--reps", "2", "--executor", "serial", "-q"]


def test_a_report_in_the_other_language_is_added_beside_the_first(tmp_path, capsys):
    """`--lang zh` after `--lang en` into the same folder adds report.zh.* and figures/zh/, and leaves the
    English report and its figures as they were (the runs are reused)."""
    out = tmp_path / "both"
    assert cli_main(["compare", *SMALL, "--out", str(out)]) == 0
    en = sorted([out / "report.en.html", out / "report.en.md", *(out / "figures" / "en").glob("*.png")])
    assert len(en) >= 7
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in en}
    assert cli_main(["compare", *SMALL, "--lang", "zh", "--out", str(out)]) == 0
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in en} == before
    for name in ("report.zh.html", "report.zh.md"):
        assert (out / name).stat().st_size > 0
    zh_figs = sorted((out / "figures" / "zh").glob("*.png"))
    assert [p.name for p in zh_figs] == [p.name for p in en if p.suffix == ".png"]
    assert "基线" in (out / "report.zh.html").read_text(encoding="utf-8")
    md = (out / "report.zh.md").read_text(encoding="utf-8")
    assert "](figures/zh/" in md
    assert (f"cogov compare baseline whistle --reps 2 --seed 1 --days 20 --preset classroom --lang zh --out {out}"
            in md)  # the command that makes the report again
    assert (out / "kpis.en.csv").is_file() and (out / "kpis.zh.csv").is_file()
    assert not (out / "report.html").exists() and not (out / "report.md").exists()
    capsys.readouterr()
    assert cli_main(["compare", *SMALL[:-1], "--lang", "zh", "--out", str(out)]) == 0  # not quiet: names its files
    printed = capsys.readouterr().out
    assert f"report: {out / 'report.zh.html'}" in printed and f"report: {out / 'report.zh.md'}" in printed
    assert "report.en." not in printed


def test_a_folder_held_by_another_command_exits_2_naming_its_process(tmp_path, capsys):
    import os

    from sim.io import folder_lock
    out = tmp_path / "held"
    with folder_lock(out, "test"):
        assert cli_main(["compare", *SMALL, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"process {os.getpid()}" in err and "cogov test" in err
    assert not (out / "manifest.json").exists() and not list(out.glob("report.*"))


def test_a_comparison_too_big_for_the_memory_exits_2_before_running(tmp_path, capsys, monkeypatch):
    from sim import memory
    monkeypatch.delenv("COGOV_MEMORY_CHECK", raising=False)
    monkeypatch.setattr(memory, "available_bytes", lambda: 1e6)  # 1 MB free
    out = tmp_path / "big"
    assert cli_main(["compare", *SMALL, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "baseline: " in err and "GB of memory" in err
    assert not out.exists()


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """One small comparison, reported in both languages."""
    from sim import CoGovernanceModel, load_scenario
    from sim.metrics import network_snapshot
    from sim.report.report import write_report
    out = tmp_path_factory.mktemp("reports")
    run_comparison(load_scenarios(["baseline", "whistle", "wuzhi"], 60, "classroom"), 3, out / "runs", root_seed=2,
                   executor="serial", progress=False)
    comp = analyse(out / "runs")
    network = network_snapshot(CoGovernanceModel(load_scenario("baseline", preset="classroom", days=60)).run())
    return {lang: (out / lang, write_report(comp, out / lang, lang, network)) for lang in ("en", "zh")}


SECTIONS = ("summary", "ranking", "options", "tradeoffs", "caveats", "settings", "families", "reported-vs-real",
            "kpi-table", "fig-differences", "fig-timeseries", "fig-ladder", "fig-cost", "fig-reported", "fig-network")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_files_hold_every_section(reports, lang):
    out, written = reports[lang]
    html = (out / f"report.{lang}.html").read_text(encoding="utf-8")
    md = (out / f"report.{lang}.md").read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'id="{section}"' in html, section
    assert "http://" not in html and "https://" not in html and "<script" not in html  # self-contained
    assert html.count("data:image/png;base64,") >= 6
    assert html.index('id="summary"') < html.index('id="settings"') < html.index('id="kpi-table"')  # it opens with it
    pngs = [p for p in written if p.suffix == ".png"]
    assert len(pngs) >= 6
    for p in pngs:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert p.parent == out / "figures" / lang  # the figures' labels are in the report's language
        assert f"](figures/{lang}/{p.name})" in md
    names = ("基线", "吹哨报到", "五治融合") if lang == "zh" else ("Baseline", "Whistle", "Five-mode")
    for name in names:
        assert name in html


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_table_file_holds_the_numbers_of_the_report(reports, lang):
    """kpis.<lang>.csv: one row per KPI and scenario, in the KPI's own units; every level and difference it
    holds is the one the report shows, and its verdicts are the comparison's."""
    from sim.report.i18n import fmt_number
    from sim.report.report import kpi_cells
    out, written = reports[lang]
    assert out / f"kpis.{lang}.csv" in written
    table = pd.read_csv(out / f"kpis.{lang}.csv")
    comp = analyse(out.parent / "runs")
    cells = kpi_cells(comp)
    assert len(table) == len(cells.kpis) * len(comp.names)
    md = (out / f"report.{lang}.md").read_text(encoding="utf-8")
    shown = 0
    for r in table.itertuples():
        c = cells.cells[(r.scenario, r.kpi)]
        if np.isfinite(r.mean):  # the best of a row is starred and bold: **★ 47.0** [...]
            level = fmt_number(r.kpi, r.mean, lang, digits=c.level_digits)
            assert f"{level} [" in md or f"★ {level}** [" in md, (r.kpi, r.scenario)
        if not r.reference and np.isfinite(r.diff):
            assert f"Δ {fmt_number(r.kpi, r.diff, lang, signed=True, digits=c.digits)} [" in md, (r.kpi, r.scenario)
            shown += 1
    assert shown >= 20
    judged = comp.diffs.set_index(["scenario", "kpi"])["verdict"]
    options = table[~table["reference"]]
    assert list(options["verdict"]) == [judged[(s, k)] for s, k in zip(options["scenario"], options["kpi"],
                                                                       strict=True)]


def test_the_table_is_also_written_as_xlsx_where_openpyxl_is_installed(reports):
    pytest.importorskip("openpyxl")  # not a dependency of cogov
    out, written = reports["en"]
    assert out / "kpis.en.xlsx" in written
    pd.testing.assert_frame_equal(pd.read_excel(out / "kpis.en.xlsx"), pd.read_csv(out / "kpis.en.csv"))


def test_the_report_names_its_version_and_commit(reports):
    from sim import __version__
    from sim.io import git_commit
    out, _ = reports["en"]
    for name in ("report.en.html", "report.en.md"):
        text = (out / name).read_text(encoding="utf-8")
        assert f"cogov {__version__}" in text
        commit = git_commit()
        assert (commit in text) if commit else ("not run from a git checkout" in text)


def _is_chinese(ch: str) -> bool:
    """A CJK ideograph, CJK punctuation or a full-width form: the characters the Chinese font must draw."""
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3000 <= o <= 0x303F or 0xFF00 <= o <= 0xFFEF


def _strings(obj):
    """Every string inside ``obj`` (nested dicts, lists, tuples, sets, dataclasses and models)."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, val in obj.items():
            yield from _strings(k)
            yield from _strings(val)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for item in obj:
            yield from _strings(item)
    elif hasattr(obj, "__dataclass_fields__"):
        for name in obj.__dataclass_fields__:
            yield from _strings(getattr(obj, name))


def chinese_characters_of_the_report() -> set[str]:
    """The Chinese characters the report and its figures can show: those of the text catalogue
    (``sim.report.i18n``: sentence templates, labels, units), of the registry's KPI and lever labels
    and units, and the punctuation written into the text by ``sim/report/*.py``."""
    import inspect
    from pathlib import Path

    from sim import registry
    from sim.report import i18n
    texts = []
    for module in (i18n, registry):
        texts += [s for name, value in vars(module).items() if name.isupper() for s in _strings(value)]
    texts += [i18n.kpi_label(k, "zh") for k in registry.KPIS] + [i18n.kpi_header(k, "zh") for k in registry.KPIS]
    texts += [i18n.lever_label(k, "zh") for k in registry.LEVERS]
    texts += [Path(f).read_text(encoding="utf-8") for f in Path(inspect.getfile(i18n)).parent.glob("*.py")]
    return {ch for text in texts for ch in text if _is_chinese(ch)}


def _cmap(path):
    from fontTools.ttLib import TTFont
    path = str(path)
    font = TTFont(path, fontNumber=0, lazy=True) if path.lower().endswith((".ttc", ".otc")) else TTFont(path, lazy=True)
    try:
        return dict(font.getBestCmap())
    finally:
        font.close()


def test_chinese_report_uses_a_font_with_cjk_glyphs():
    """Check the font, not the string: the font matplotlib resolves for the Chinese figures, and the one
    the HTML report embeds, must have a glyph of its own for every Chinese character the report can show
    (matplotlib's fallback font maps every CJK character to one empty box, or to none). Which font file it
    is (mplfonts' Noto Sans CJK SC or the system's) does not matter."""
    from matplotlib import font_manager

    from sim.report.i18n import cjk_font, use_font
    chars = chinese_characters_of_the_report()
    ideographs = {ch for ch in chars if 0x4E00 <= ord(ch) <= 0x9FFF}
    assert len(ideographs) > 200 and {"治", "理", "（", "。"} <= chars  # the collection found the catalogue
    resolved = font_manager.findfont(font_manager.FontProperties(family=use_font("zh")), fallback_to_default=False)
    for path in {str(cjk_font()), resolved}:
        cmap = _cmap(path)
        missing = sorted(ch for ch in chars if ord(ch) not in cmap)
        assert not missing, f"{path}: no glyph for {''.join(missing)}"
        glyphs = {cmap[ord(ch)] for ch in ideographs}
        assert len(glyphs) == len(ideographs), f"{path}: ideographs share glyphs (a last-resort font)"
        assert ".notdef" not in glyphs


def test_chinese_summary_is_in_chinese_and_computed_from_the_numbers(reports):
    out, _ = reports["zh"]
    html = (out / "report.zh.html").read_text(encoding="utf-8")
    assert "配对" in html  # the method is stated (paired differences)
    # the summary quotes numbers of this comparison, e.g. the reference's resolution rate in %
    comp_runs = analyse(out.parent / "runs")
    rate = comp_runs.stats.query("scenario == 'baseline' and kpi == 'resolution_rate'")["mean"].iloc[0]
    assert f"{100 * rate:.1f}" in html


def test_a_schedule_beyond_the_run_is_warned_about(tmp_path, capsys):
    assert cli_main(["compare", "baseline", "whistle_after_warmup", "--preset", "classroom", "--days", "20",
                     "--reps", "2", "--executor", "serial", "--out", str(tmp_path / "w"), "-q"]) == 0
    err = capsys.readouterr().err
    assert "whistle_after_warmup: schedule entry for day 365 is after the last simulated day (19)" in err


def test_every_built_in_scenario_has_labels_in_both_languages():
    from sim.params import builtin_names
    from sim.report.i18n import SCENARIO_LABELS

    for name in builtin_names():
        assert set(SCENARIO_LABELS.get(name, {})) == {"en", "zh"}, name


def test_where_cases_ended_adds_up_to_every_case_of_the_period():
    """The ladder figure's shares (resolved by level, superficial, erupted, withdrawn, still open) partition
    the cases of the reported period, those open at day 0 included: they sum to 1 (they summed to ~1.2
    when the day-0 stock was left out of the denominator)."""
    from conftest import make_model

    from sim.report.figures import ladder_shares
    s = make_model(days=60).run().summary()
    assert s["cases_open_start"] > 0  # the burn-in left cases open: the case this test is about
    shares = ladder_shares(pd.DataFrame([{**s, "scenario": "baseline"}]), ["baseline"])
    assert shares.sum(axis=1).iloc[0] == pytest.approx(1.0, abs=1e-9)


def test_each_run_stores_its_district_table_and_one_district_gives_no_district_results(tmp_path):
    from sim.experiments.store import SweepStore
    from sim.registry import DISTRICT_REPORT
    comp = compare(tmp_path, ["baseline", "whistle"], reps=2, days=30)
    d = SweepStore(tmp_path / "cmp").districts()
    assert len(d) == 4 and set(d["district"]) == {0}  # the classroom has one district: one row per run
    assert set(DISTRICT_REPORT) <= set(d.columns)
    run = comp.summaries.set_index("key")
    # the district's cases are the city's cases
    assert (d.set_index("key")["cases"] == run.loc[d["key"], "cases_total"]).all()
    assert comp.districts.empty  # the city-wide result is the district's
