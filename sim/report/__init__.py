"""Rendering: the comparison report, its figures, the findings of the claims, the calibration figure and
table, and the one text catalogue (zh/en). Functions take tables (and the network snapshot); nothing here
runs or analyses a model."""
