"""Rendering: the comparison report, its figures, the calibration figure, and the one text catalogue
(zh/en). Functions take tables (and the network snapshot); nothing here runs or analyses a model."""
