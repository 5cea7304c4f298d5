"""Teaching-app benchmark: days of model time per second while the app draws every frame.

    PYTHONPATH=. python3 benchmarks/app_speed.py                 # 30 frames per setting
    PYTHONPATH=. python3 benchmarks/app_speed.py --frames 60 --days-per-frame 1 5 10

What is timed is the app's own step + render path, headless: ``sim.app.App`` rendered with
Solara's testing tools (``solara.render``), then Mesa's Step button clicked ``--frames`` times.
Each click is exactly what a play tick does without its pause: Mesa's controller steps the
``ClassroomModel`` ``render_interval`` days (the "days per frame"), then redraws the page's
views (KPI table, escalation ladder, charts, organisational network, residents) from the
model. The browser's own work (decoding the frames, the websocket) is not included; nor is
Mesa's play pause (``play_interval``, 50 ms by default in the app), which adds
``play_interval`` per frame when playing. Timed at the classroom preset, single run and side by
side (A and B), after a warm-up of 3 frames (the figures' first full draw).

Printed: a table of mode, days per frame, frames, seconds, days per second and milliseconds per
frame; then days per second when playing with the app's default pause, against the target
(>= 10 days of model time per second).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script: make ``sim`` importable
    sys.path.insert(0, str(ROOT))

TARGET = 10.0  # days of model time per second while drawing


def measure(side_by_side: bool, days_per_frame: int, frames: int) -> dict:
    import ipyvuetify as v
    import solara

    from sim import app

    lesson = app.Lesson("baseline", seed=1, side_by_side=side_by_side,
                        levers={"A": {}, "B": {"whistle_power": 0.8}})
    model = solara.reactive(app.ClassroomModel(lesson))
    with contextlib.redirect_stdout(io.StringIO()):   # solara's app bar echoes itself outside a server
        _, rc = solara.render(solara.AppLayout(children=[app.App(model=model)]), handle_error=False)
    interval = [w for w in rc.find(v.Slider).widgets if w.label == "Render Interval (steps)"]
    assert len(interval) == 1, "Mesa's render-interval slider not found"
    interval[0].v_model = days_per_frame
    step = rc.find(v.Btn, children=["Step"]).widget
    for _ in range(3):
        step.click()
    start_day = model.value.day
    t0 = time.perf_counter()
    for _ in range(frames):
        step.click()
    seconds = time.perf_counter() - t0
    days = model.value.day - start_day
    assert days == frames * days_per_frame, (days, frames, days_per_frame)
    return {"mode": "side by side" if side_by_side else "single", "days_per_frame": days_per_frame,
            "frames": frames, "seconds": seconds, "days_per_s": days / seconds, "ms_per_frame": 1000 * seconds / frames}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=30, help="frames timed per setting (default 30)")
    p.add_argument("--days-per-frame", type=int, nargs="+", default=[1, 5],
                   help="Mesa's render interval: days stepped per frame (default 1 5; the app starts at 5)")
    args = p.parse_args(argv)
    from sim import app

    rows = [measure(sbs, d, args.frames) for sbs in (False, True) for d in args.days_per_frame]
    print(f"{'mode':<14}{'days/frame':>11}{'frames':>8}{'seconds':>9}{'days/s':>9}{'ms/frame':>10}")
    for r in rows:
        print(f"{r['mode']:<14}{r['days_per_frame']:>11}{r['frames']:>8}{r['seconds']:>9.2f}{r['days_per_s']:>9.1f}"
              f"{r['ms_per_frame']:>10.0f}")
    print(f"\nplaying with the app's defaults ({app.RENDER_INTERVAL} days per frame, {app.PLAY_INTERVAL} ms pause "
          f"per frame), target >= {TARGET:.0f} days/s:")
    ok = True
    for r in rows:
        if r["days_per_frame"] != app.RENDER_INTERVAL:
            continue
        playing = r["days_per_frame"] / (r["ms_per_frame"] / 1000 + app.PLAY_INTERVAL / 1000)
        ok &= playing >= TARGET
        print(f"  {r['mode']:<14}{playing:6.1f} days/s  {'meets' if playing >= TARGET else 'MISSES'} the target")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
