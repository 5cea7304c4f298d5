"""The ``cogov`` command. Thin: it parses, calls the package, prints.

One module per command: ``run``, ``validate``, ``scenarios``, ``levers``, ``kpis``, ``sweep``
(with ``results`` and ``sensitivity``), ``compare``, ``robust``, ``frontier``, ``cache``, and, with parsers of their own, ``app``,
``calibrate``, ``reproduce`` and ``bench``; ``common`` holds what they share (the error line,
interruption, failed runs, the progress bar, the lines naming written files). Command modules
import the model, the experiments and the report inside their command functions, so that
``cogov --help``, ``cogov levers`` or ``cogov validate`` start fast.

Exit codes: 0 success; 1 some runs failed; 2 bad input (scenario file, option, output folder);
130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .common import check_days, fail, interrupted

#: Commands with their own parser (module sim.cli.NAME, its main(argv)): name -> help line.
DELEGATED = {
    "app": "interactive teaching app in the browser (Mesa SolaraViz, zh/en)",
    "calibrate": "fit the baseline's uncertain parameters to the published targets",
    "reproduce": "test the sources' seven claims (MODEL §10) and write docs/FINDINGS.md",
    "bench": "scale benchmark: classroom, city and full-scale tianjin",
}


def build_parser() -> argparse.ArgumentParser:
    from . import cache, compare, frontier, kpis, levers, robust, run, scenarios, sweep, validate

    p = argparse.ArgumentParser(
        prog="cogov",
        description="Simulate multi-actor co-governance of disputes in a Chinese city (市域社会治理).")
    from .. import __version__
    p.add_argument("--version", action="version", version=f"cogov {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add in (run.add_parser, validate.add_parser, scenarios.add_parser, levers.add_parser, kpis.add_parser,
                sweep.add_parser, sweep.add_results_parser, sweep.add_sensitivity_parser, compare.add_parser,
                robust.add_parser, frontier.add_parser, cache.add_parser):
        add(sub)
    # these commands are handed whole to their own module's main() (see main); listed here for --help
    for name, text in DELEGATED.items():
        sub.add_parser(name, help=f"{text} (see `cogov {name} --help`)", add_help=False)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one command; a reader that closes the pipe early (``cogov levers | head``) ends it quietly,
    and Ctrl-C at any moment (imports, a run, writing) exits 130 with one line."""
    from ..interrupt import install
    install()
    try:
        return _main(sys.argv[1:] if argv is None else list(argv))
    except KeyboardInterrupt:  # written files are whole (sim.io): say so, no traceback
        return _interrupted()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 141
    except Exception as exc:  # noqa: BLE001 - a Ctrl-C that an import turned into another error
        if not _caused_by_interrupt(exc):
            raise
        return _interrupted()


def _main(argv: list[str]) -> int:
    if argv[:1] and argv[0] in DELEGATED:
        return importlib.import_module(f"{__name__}.{argv[0]}").main(argv[1:])
    args = build_parser().parse_args(argv)
    if (bad := check_days(getattr(args, "days", None))) is not None:
        return bad
    if getattr(args, "seed", None) is not None and args.seed < 0:
        return fail("--seed must be 0 or more")
    return args.func(args)


def _interrupted() -> int:
    from ..interrupt import requested
    requested.clear()
    return interrupted("interrupted; files already written are complete (rerun a study to resume it)")


def _caused_by_interrupt(exc: BaseException) -> bool:
    """Whether a KeyboardInterrupt is in ``exc``'s chain (e.g. networkx's import turns one into a
    RuntimeError from ``__set_name__``)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False

