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
# the WebSocket's Origin: no page of another site may open the app's kernel connection
# ------------------------------------------------------------------------------------------------

def _asgi(app, scope: dict, incoming: list[dict]) -> list[dict]:
    """Call the ASGI ``app`` with ``scope``, feeding it ``incoming`` (then a disconnect); the messages it sent."""
    import asyncio
    sent: list[dict] = []
    queue = list(incoming)

    async def receive():
        return queue.pop(0) if queue else {"type": "websocket.disconnect", "code": 1000}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def _ws_scope(origin: str | None, host: str = "127.0.0.1:8765", path: str = "/ws") -> dict:
    headers = [(b"host", host.encode())] + ([(b"origin", origin.encode())] if origin is not None else [])
    return {"type": "websocket", "asgi": {"version": "3.0"}, "scheme": "ws", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "", "headers": headers, "server": ("127.0.0.1", 8765),
            "client": ("127.0.0.1", 50000), "subprotocols": []}


def _echo_app(calls: list):
    """An ASGI app whose WebSocket says "hello" (and whose HTTP answers 204), behind the app's Origin check."""
    async def hello(scope, receive, send):
        calls.append(scope["type"])
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "hello"})
        await send({"type": "websocket.close", "code": 1000})

    return app_command.same_origin_websockets(hello)


@pytest.mark.parametrize("origin, host, allowed", [
    (None, "127.0.0.1:8765", True),                          # no Origin: not a browser
    ("http://127.0.0.1:8765", "127.0.0.1:8765", True),       # the app's own page
    ("http://LOCALHOST:8765", "localhost:8765", True),
    ("https://class.example.org", "class.example.org", True),  # behind a proxy that ends TLS
    ("http://[::1]:8765", "[::1]:8765", True),
    ("http://evil.example", "127.0.0.1:8765", False),        # a page of another site
    ("http://127.0.0.1:9999", "127.0.0.1:8765", False),      # another port is another site
    ("http://localhost:8765", "127.0.0.1:8765", False),
    ("http://127.0.0.1:8765.evil.example", "127.0.0.1:8765", False),
    ("null", "127.0.0.1:8765", False),                       # a sandboxed frame, a file:// page
    ("http://127.0.0.1:notaport", "127.0.0.1:8765", False),
])
def test_origin_check(origin, host, allowed):
    headers = [(b"host", host.encode())] + ([(b"origin", origin.encode())] if origin is not None else [])
    assert app_command.origin_allowed({"type": "websocket", "scheme": "ws", "headers": headers}) is allowed


def test_a_websocket_from_another_site_is_refused_and_one_from_the_app_s_own_page_accepted(capsys):
    calls: list[str] = []
    app = _echo_app(calls)
    connect = [{"type": "websocket.connect"}]
    for origin in ("http://127.0.0.1:8765", None):  # the app's own page; not a browser
        sent = _asgi(app, _ws_scope(origin), connect)
        assert [m["type"] for m in sent] == ["websocket.accept", "websocket.send", "websocket.close"]
        assert sent[1]["text"] == "hello"
    assert calls == ["websocket", "websocket"]
    sent = _asgi(app, _ws_scope("http://evil.example"), connect)
    assert sent == [{"type": "websocket.close", "code": 1008}]  # before accept: the server answers 403
    assert calls == ["websocket", "websocket"]  # the app never saw it
    assert "refused a WebSocket connection from the page of another site (Origin http://evil.example)" in \
        capsys.readouterr().err
    http = {**_ws_scope("http://evil.example", path="/"), "type": "http", "method": "GET", "http_version": "1.1"}
    assert _asgi(app, http, [{"type": "http.request", "body": b""}])[0]["status"] == 204  # HTTP goes through
    assert calls[-1] == "http"


@pytest.mark.parametrize("host, allowed", [
    ("127.0.0.1:8765", True), ("localhost:8765", True), ("[::1]:8765", True), ("LOCALHOST.:8765", True),
    ("127.5.6.7", True), ("app.localhost:8765", True),
    ("evil.example:8765", False),        # DNS rebinding: a site's name made to point at 127.0.0.1
    ("127.0.0.1.evil.example", False), ("0.0.0.0:8765", False), ("", False),
])
def test_an_app_on_loopback_answers_only_requests_for_a_loopback_host(host, allowed, capsys):
    assert app_command.host_allowed({"headers": [(b"host", host.encode())]}) is allowed
    calls: list[str] = []
    app = app_command.same_origin_websockets(_echo_app(calls), loopback_only=True)
    origin = f"http://{host}" if host else None  # the rebound page's own origin: the Origin check alone passes it
    sent = _asgi(app, _ws_scope(origin, host=host), [{"type": "websocket.connect"}])
    http = {**_ws_scope(origin, host=host, path="/"), "type": "http", "method": "GET", "http_version": "1.1"}
    status = _asgi(app, http, [{"type": "http.request", "body": b""}])[0]["status"]
    if allowed:
        assert sent[0]["type"] == "websocket.accept" and status == 204
    else:
        assert sent == [{"type": "websocket.close", "code": 1008}] and status == 403 and calls == []
        assert "the app listens on this machine only" in capsys.readouterr().err


def test_an_app_on_another_address_leaves_the_host_to_the_origin_check():
    calls: list[str] = []
    app = app_command.same_origin_websockets(_echo_app(calls), loopback_only=False)
    sent = _asgi(app, _ws_scope("http://class.example.org:8765", host="class.example.org:8765"),
                 [{"type": "websocket.connect"}])
    assert sent[0]["type"] == "websocket.accept"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # websockets.legacy, imported by the server
def test_the_served_app_is_solaras_behind_the_origin_check():
    served = app_command.asgi_app()
    scope = _ws_scope("http://evil.example", path="/jupyter/api/kernels/k/channels")
    assert _asgi(served, scope, [{"type": "websocket.connect"}]) == [{"type": "websocket.close", "code": 1008}]


def _handshake(base: str, origin: str | None) -> str:
    """The status line the server answers a WebSocket handshake on the kernel's URL with."""
    import base64
    from urllib.parse import urlsplit
    u = urlsplit(base)
    lines = ["GET /jupyter/api/kernels/test/channels?session_id=test HTTP/1.1", f"Host: {u.netloc}",
             "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
             "Sec-WebSocket-Key: " + base64.b64encode(os.urandom(16)).decode()]
    if origin:
        lines.append(f"Origin: {origin}")
    with socket.create_connection((u.hostname, u.port), timeout=30) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return s.recv(4096).split(b"\r\n", 1)[0].decode()


@pytest.mark.slow
def test_the_running_server_refuses_a_websocket_from_another_site(app_server):
    assert " 403 " in _handshake(app_server, "http://evil.example") + " "
    assert " 101 " in _handshake(app_server, app_server) + " "


# ------------------------------------------------------------------------------------------------
# a real browser (slow): Playwright's Chromium, else the system's; skipped without one, failed on CI
# ------------------------------------------------------------------------------------------------

INSTALL_BROWSER = ("install it with `python3 -m playwright install chromium` (where that download is blocked, "
                   "the system's Chromium will do: `apt-get install chromium`)")
#: Chromium's own connections (updates, sync...) are refused by a closed network, many at a time.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _unavailable(reason: str):
    """Skip, saying how to install what is missing; on CI (``CI=true``), where nothing may be skipped, fail."""
    if on_ci():
        pytest.fail(f"{reason} (CI=true: .ci/run installs it before the tests)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium_browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed: `pip install '.[test]'`, then " + INSTALL_BROWSER)
    pw = sync_playwright().start()
    reasons: list[str] = []

    def launch(**kwargs):
        try:
            return pw.chromium.launch(headless=True, args=CHROMIUM_ARGS, **kwargs)
        except Exception as exc:  # noqa: BLE001 (any failure: try the next way)
            reasons.append(str(exc).strip().splitlines()[0][:200])
            return None

    def system_chromium():
        for name in ("chromium", "chromium-browser", "google-chrome"):
            path = shutil.which(name)
            if path and (browser := launch(executable_path=path)):
                return browser
        return None

    browser = launch() or system_chromium()  # nothing is installed from here: see INSTALL_BROWSER
    if browser is None:
        pw.stop()
        _unavailable(f"no Chromium for Playwright ({'; '.join(reasons)}): " + INSTALL_BROWSER)
    yield browser
    browser.close()
    pw.stop()


def test_a_missing_browser_skips_with_how_to_install_it_but_fails_on_ci(monkeypatch):
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match=re.escape("python3 -m playwright install chromium")):
        _unavailable("no Chromium: " + INSTALL_BROWSER)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        _unavailable("no Chromium: " + INSTALL_BROWSER)


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
