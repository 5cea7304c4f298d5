"""The teaching app (`cogov app`): its model, its page driven headless with Solara's own testing
tools, the command, and (slow) a real headless Chromium against a running server."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

solara = pytest.importorskip("solara")
v = pytest.importorskip("ipyvuetify")

from sim import app  # noqa: E402  (after the skips: the app needs solara)
from sim.app import ClassroomModel, Lesson  # noqa: E402
from sim.cli import app as app_command  # noqa: E402  (the `cogov app` command)

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------------------------------------
# the model behind the app
# ------------------------------------------------------------------------------------------------

def test_evaluation_slider_maps_onto_the_baseline_and_incentives_weights():
    from sim import load_scenario
    for name, e in (("baseline", 1 / 7), ("incentives", 6 / 7)):
        lv = load_scenario(name).levers
        w = app.evaluation_weights(e)
        assert w == pytest.approx({"w_process": lv.w_process, "w_closures": lv.w_closures,
                                   "w_satisfaction": lv.w_satisfaction})
        assert app.evaluation_position(lv) == pytest.approx(e)
    assert app.evaluation_weights(0.0)["w_satisfaction"] == 0.0
    assert app.evaluation_weights(1.0)["w_process"] == 0.0


def test_scenario_picker_excludes_full_scale_tianjin():
    names = app.scenario_names()
    assert "baseline" in names and "wuzhi" in names
    assert "tianjin" not in names


def test_side_by_side_runs_share_the_city_and_the_noise():
    """Same seed and same levers: A and B are the same run, day by day (common random numbers)."""
    m = ClassroomModel(Lesson("baseline", seed=3, side_by_side=True))
    for _ in range(40):
        m.step()
    a, b = m.runs["A"], m.runs["B"]
    assert a.p.preset == "classroom" and a.population.n == 3000
    assert np.array_equal(a.territory.community_size, b.territory.community_size)
    ta, tb = a.timeseries(), b.timeseries()
    assert len(ta) == 40 and ta.equals(tb)


def test_a_lever_difference_makes_the_runs_differ_with_the_same_emerging_disputes():
    lesson = Lesson("baseline", seed=3, side_by_side=True, levers={"A": {}, "B": {"whistle_power": 1.0}})
    m = ClassroomModel(lesson)
    for _ in range(90):
        m.step()
    a, b = m.runs["A"], m.runs["B"]
    assert b.levers.whistle_power == 1.0 and a.levers.whistle_power == 0.0
    sa, sb = a.summary(), b.summary()
    assert sa["whistles"] == 0 and sb["whistles"] > 0
    # the disputes that emerge on the first day are the same draws in both runs
    assert a.timeseries()["candidates"].iloc[0] == b.timeseries()["candidates"].iloc[0]
    assert m.lever_differences() == [("whistle_power", 0.0, 1.0)]


def test_a_lever_moved_during_a_run_acts_from_the_next_day_only_on_its_run():
    m = ClassroomModel(Lesson("baseline", seed=1, side_by_side=True))
    for _ in range(10):
        m.step()
    m.set_lever("B", "info_sharing", 0.7)
    assert m.levers("B").info_sharing == 0.7            # in force from the next day
    assert m.runs["B"].levers.info_sharing == 0.0       # not yet today
    m.step()
    assert m.runs["B"].levers.info_sharing == 0.7
    assert m.runs["A"].levers.info_sharing == 0.0
    m.set_lever("A", "evaluation", 1.0)
    m.step()
    assert m.runs["A"].levers.w_satisfaction == pytest.approx(0.7)
    assert m.runs["A"].levers.w_process == pytest.approx(0.0)
    assert m.lesson.levers == {"A": {"evaluation": 1.0}, "B": {"info_sharing": 0.7}}


def test_a_reset_model_starts_at_day_0_with_the_moved_levers():
    m = ClassroomModel(Lesson("whistle", seed=2))
    m.step()
    m.set_lever("A", "party_attention", 0.9)
    again = ClassroomModel(m.lesson, seed=5)
    assert again.day == 0 and again.lesson.seed == 5
    assert again.runs["A"].levers.party_attention == 0.9
    assert again.runs["A"].levers.whistle_power == 0.8   # the rest is the scenario's


def test_play_stops_at_the_horizon(monkeypatch):
    monkeypatch.setattr(app, "HORIZON", 3)
    m = ClassroomModel()
    for _ in range(3):
        assert m.running
        m.step()
    assert not m.running


@pytest.mark.parametrize("kind,options", [("network", {"colour_by": "backlog"}), ("network", {"colour_by": "effort"}),
                                          ("residents", {"community": 4}), ("charts", {}), ("ladder", {})])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_views_draw_and_change_as_the_model_runs(kind, options, lang):
    m = ClassroomModel(Lesson("baseline", seed=1, side_by_side=True, levers={"A": {}, "B": {"whistle_power": 1.0}}))
    view = app.make_view(kind, m, lang, **options)
    first = app.render_view(view, m)
    assert first[:2] == b"\xff\xd8"                     # a JPEG image
    for _ in range(60):
        m.step()
    later = app.render_view(view, m)
    assert later != first


# ------------------------------------------------------------------------------------------------
# the page, headless (Solara's own testing tools)
# ------------------------------------------------------------------------------------------------

def _render(lesson: Lesson | None = None):
    model = solara.reactive(ClassroomModel(lesson or Lesson("baseline", seed=1)))
    box, rc = solara.render(solara.AppLayout(children=[app.App(model=model)]), handle_error=False)
    return model, rc


def _slider(rc, prefix: str):
    found = [w for w in rc.find(v.Slider).widgets if (w.label or "").startswith(prefix)]
    assert len(found) == 1, prefix
    return found[0]


def _toggle(rc, labels: list[str], pick: str, value) -> None:
    """Choose a button of the toggle whose buttons read ``labels`` (by value with Vuetify 3, by
    index with Vuetify 2)."""
    found = [w for w in rc.find(v.BtnToggle).widgets if [b.children for b in w.children] == [[x] for x in labels]]
    assert len(found) == 1, labels
    toggle = found[0]
    toggle.v_model = labels.index(pick) if isinstance(toggle.v_model, int) else value


def _kpis(rc) -> str:
    found = [w for w in rc.find(solara.widgets.HTML).widgets if "cogov-kpis" in (w.unsafe_innerHTML or "")]
    assert len(found) == 1
    return found[0].unsafe_innerHTML


def _cell(html: str, row_label: str, run: str = "A") -> str:
    m = re.search(rf"<td[^>]*>{re.escape(row_label)}</td>(.*?)</tr>", html)
    assert m, row_label
    cell = re.search(rf"class='cogov-kpi-{run}'>([^<]*)<", m.group(1))
    return cell.group(1)


def test_a_slider_moves_the_models_lever():
    model, rc = _render()
    slider = _slider(rc, "Streets' whistles")
    assert slider.v_model == 0.0
    slider.v_model = 0.8
    assert model.value.levers("A").whistle_power == 0.8
    assert _slider(rc, "Streets' whistles").label.endswith("0.80")
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert model.value.runs["A"].levers.whistle_power == 0.8


def test_step_advances_the_model_and_the_displayed_kpis():
    model, rc = _render()
    before = _kpis(rc)
    assert "Day 0<" in before and model.value.day == 0
    step = rc.find(v.Btn, children=["Step"]).widget
    step.click()
    step.click()
    m = model.value
    assert m.day == 2 * app.RENDER_INTERVAL
    after = _kpis(rc)
    assert f"Day {m.day}<" in after
    cases = int(_cell(after, "New cases in the period").replace(",", ""))
    assert cases == m.runs["A"].summary()["cases_total"] > 0
    assert _cell(before, "New cases in the period") == "0"


def test_reset_restarts_at_day_0_with_the_levers_as_set():
    model, rc = _render()
    rc.find(v.Btn, children=["Step"]).widget.click()
    _slider(rc, "Information sharing").v_model = 0.6
    first = model.value
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert model.value is not first and model.value.day == 0
    assert model.value.runs["A"].levers.info_sharing == 0.6


def test_side_by_side_switch_builds_a_and_b_and_b_s_levers_move_only_b():
    model, rc = _render()
    rc.find(v.Switch).widget.v_model = True
    m = model.value
    assert list(m.runs) == ["A", "B"] and m.day == 0
    _toggle(rc, ["A", "B"], "B", "B")                  # which run's levers the sliders move
    _slider(rc, "Streets' whistles").v_model = 1.0
    assert m.levers("B").whistle_power == 1.0 and m.levers("A").whistle_power == 0.0
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert "cogov-kpi-B" in _kpis(rc)
    assert "B differs from A in: Streets' whistles 0.00 → 1.00" in _kpis(rc)
    for _ in range(6):
        rc.find(v.Btn, children=["Step"]).widget.click()
    assert m.runs["B"].summary()["whistles"] > 0 and m.runs["A"].summary()["whistles"] == 0


def test_scenario_picker_rebuilds_with_the_scenarios_levers():
    model, rc = _render()
    select = rc.find(v.Select, label="Scenario").widget
    select.v_model = app.scenario_label("whistle", "en")
    m = model.value
    assert m.lesson.scenario == "whistle" and m.day == 0
    assert m.runs["A"].levers.whistle_power == 0.8
    assert _slider(rc, "Streets' whistles").v_model == 0.8


def test_language_switch_shows_chinese_labels():
    model, rc = _render()
    _toggle(rc, ["English", "中文"], "中文", "zh")
    assert "期内新发案件" in _kpis(rc)
    assert _slider(rc, "街乡吹哨").v_model == 0.0


# ------------------------------------------------------------------------------------------------
# the command
# ------------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_help(capsys):
    with pytest.raises(SystemExit) as exc:
        app_command.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--port" in out and "--host" in out and "127.0.0.1" in out


def test_port_in_use_fails_with_one_message(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert app_command.main(["--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--port {port}: already in use" in err


@pytest.mark.parametrize("port", ["0", "70000", "http"])
def test_bad_port_is_refused(port, capsys):
    with pytest.raises(SystemExit) as exc:
        app_command.main(["--port", port])
    assert exc.value.code == 2
    assert "--port" in capsys.readouterr().err


def test_unknown_host_fails_with_one_message(capsys):
    assert app_command.main(["--host", "no-such-host.invalid", "--port", str(_free_port())]) == 2
    assert "--host no-such-host.invalid" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------
# a real browser (slow): Playwright's Chromium, else the system's, else one installed now
# ------------------------------------------------------------------------------------------------

def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium_browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    pw = sync_api.sync_playwright().start()
    reasons: list[str] = []

    def launch(**kwargs):
        try:
            return pw.chromium.launch(headless=True, args=["--no-sandbox"], **kwargs)
        except Exception as exc:  # noqa: BLE001 (any failure: try the next way)
            reasons.append(str(exc).strip().splitlines()[0][:200])
            return None

    def system_chromium():
        for name in ("chromium", "chromium-browser", "google-chrome"):
            path = shutil.which(name)
            if path and (browser := launch(executable_path=path)):
                return browser
        return None

    browser = launch() or system_chromium()
    if browser is None:
        subprocess.run([sys.executable, "-m", "playwright", "install", "chromium"], capture_output=True, timeout=900)
        browser = launch()
    if browser is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True, timeout=1200)
        browser = system_chromium()
    if browser is None:
        pw.stop()
        _unavailable("no Chromium for Playwright: " + "; ".join(reasons))
    yield browser
    browser.close()
    pw.stop()


@pytest.fixture
def app_server(tmp_path):
    """``python -m sim.cli app --port <free port>`` as a subprocess; killed at the end, pass or fail."""
    port = _free_port()
    cache = Path(os.environ.get("COGOV_SOLARA_CDN_CACHE", Path.home() / ".cache" / "cogov" / "solara-cdn"))
    cache.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "SOLARA_ASSETS_PROXY_CACHE_DIR": str(cache)}
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "app", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while app_command._get(base + "/", timeout=5)[0] != 200:
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"cogov app did not start: {(tmp_path / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        app_command.ensure_front_end(base, cache)  # as the server does once started; here before the browser loads the page
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()
    assert "cogov app: open http://127.0.0.1:" in (tmp_path / "server.log").read_text()


@pytest.mark.slow
def test_browser_step_changes_the_displayed_kpis(app_server, chromium_browser, tmp_path):
    page = chromium_browser.new_page(viewport={"width": 1500, "height": 1150})
    try:
        page.goto(app_server + "/", timeout=120_000)
        page.wait_for_selector(".cogov-kpis", timeout=120_000)
        day = page.locator(".cogov-day")
        assert day.inner_text().strip() == "Day 0"
        cases = page.locator("tr", has_text="New cases in the period").locator(".cogov-kpi-A")
        assert cases.inner_text().strip() == "0"
        page.get_by_role("button", name="Step").click()
        page.wait_for_function("document.querySelector('.cogov-day').innerText.trim() != 'Day 0'", timeout=60_000)
        assert day.inner_text().strip() == f"Day {app.RENDER_INTERVAL}"
        page.get_by_role("button", name="▶").click()                   # play for a while
        page.wait_for_function("parseInt(document.querySelector('.cogov-day').innerText.split(' ')[1]) >= 60",
                               timeout=120_000)
        page.get_by_role("button", name="❚❚").click()
        assert int(cases.inner_text().replace(",", "")) > 0
        page.wait_for_timeout(1500)                                      # the last frame's images
        shot = tmp_path / "cogov_app.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 50_000
        try:
            shutil.copy(shot, "/tmp/cogov_app_screenshot.png")
        except OSError:
            pass
    finally:
        page.close()
