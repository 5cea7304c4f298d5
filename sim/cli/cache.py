"""``cogov cache``: the burn-in cache (``sim.burnin``): where it is, its entries and their size; ``--clear``."""

from __future__ import annotations

from .common import aligned, print_json

HELP = "list or clear the burn-in cache (burned-in cities kept on disk)"


def add_parser(sub) -> None:
    c = sub.add_parser("cache", help=HELP,
                       description="List the burn-in cache: each entry is the state of a city at reported day 0 "
                                   "after its burn-in (MODEL §12.1), keyed by every non-lever parameter, the seed, "
                                   "burn_in and a fingerprint of the model's code, so that runs of the same city "
                                   "do not pay the burn-in again. It lives in $COGOV_CACHE_DIR, else "
                                   "$XDG_CACHE_HOME/cogov/burnin, else ~/.cache/cogov/burnin; COGOV_CACHE=off "
                                   "(or --no-cache of run, compare and sweep) disables it; COGOV_CACHE_MAX_MB "
                                   "(default 4096) caps its size, the least recently used entries going first. "
                                   "Entries of older code are never read; --clear removes everything.")
    c.add_argument("--clear", action="store_true", help="remove every entry")
    c.add_argument("--json", action="store_true", help="print the entries as a JSON list instead")
    c.set_defaults(func=cmd_cache)


def add_no_cache_option(p) -> None:
    """``--no-cache`` for a command that builds models (it sets ``COGOV_CACHE=off`` for its workers too)."""
    p.add_argument("--no-cache", action="store_true",
                   help="build and run every burn-in, neither reading nor writing the burn-in cache")


def honours_no_cache(command):
    """Wrap a command function: with ``--no-cache``, ``COGOV_CACHE=off`` while it runs (read by
    this process and inherited by its worker processes), restored afterwards."""
    import functools
    import os

    @functools.wraps(command)
    def wrapped(args) -> int:
        if not getattr(args, "no_cache", False):
            return command(args)
        before = os.environ.get("COGOV_CACHE")
        os.environ["COGOV_CACHE"] = "off"
        try:
            return command(args)
        finally:
            if before is None:
                os.environ.pop("COGOV_CACHE", None)
            else:
                os.environ["COGOV_CACHE"] = before

    return wrapped


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f}"


def cmd_cache(args) -> int:
    from .. import burnin

    folder = burnin.cache_dir()
    if args.clear:
        n, size = burnin.clear()
        print(f"burn-in cache {folder}: removed {n} entr{'y' if n == 1 else 'ies'} ({_mb(size)} MB)")
        return 0
    entries = burnin.entries()
    if args.json:
        print_json(entries)
        return 0
    total = sum(e["bytes"] for e in entries)
    state = "" if burnin.enabled() else " (disabled: COGOV_CACHE is off)"
    print(f"burn-in cache {folder}{state}: {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, {_mb(total)} MB")
    if entries:
        rows = [["key", "preset", "seed", "burn_in", "residents", "MB", "created", "last used", "current code"]]
        for e in entries:
            if "problem" in e:
                rows.append([e["file"].rsplit("/", 1)[-1][:12], "?", "?", "?", "?", _mb(e["bytes"]), "?", e["used"],
                             f"unreadable: {e['problem']}"])
                continue
            rows.append([e["key"][:12], e["preset"], str(e["seed"]), str(e["burn_in"]), f"{e['residents']:,}",
                         _mb(e["bytes"]), e["created"], e["used"], "yes" if e["current_code"] else "no (never read)"])
        print(aligned(rows))
    return 0
