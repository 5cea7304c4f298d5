"""Ctrl-C that is not lost: numpy can swallow the KeyboardInterrupt a SIGINT raises inside some
comparisons with an IntEnum (numpy/numpy#20596), so the command's SIGINT handler also sets
``requested``, which the run checks after every simulated day (``CoGovernanceModel.run`` and
the burn-in)."""

from __future__ import annotations

import signal
import threading

requested = threading.Event()


def _handler(signum, frame):
    requested.set()
    raise KeyboardInterrupt


def install() -> None:
    """Use this module's handler for SIGINT, unless SIGINT is ignored or handled by someone else."""
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _handler)


def check() -> None:
    """Raise the KeyboardInterrupt of a Ctrl-C that something swallowed."""
    if requested.is_set():
        requested.clear()
        raise KeyboardInterrupt
