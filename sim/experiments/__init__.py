"""Experiments: sweep specs, executors, the resumable store, and analysis of the stored tables.

Running (spec, sweep, store) and analysing (analysis) are separate: analysis functions take
the tables a sweep wrote, so a study can be re-analysed without re-running it.
"""
