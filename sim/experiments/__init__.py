"""Experiments: sweep specs, executors, the resumable store, the analysis of the stored tables, and the
studies built on them: comparing reforms (``compare``), testing the sources' claims (``claims``) and
calibrating the baseline (``calibration``).

Running (spec, sweep, store) and analysing (analysis) are separate: analysis functions take
the tables a sweep wrote, so a study can be re-analysed without re-running it. Nothing here
renders (``sim.report``) or parses a command line (``sim.cli``).
"""
