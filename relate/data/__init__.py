"""Datasets: registry, MS-TCN layout reader, validation and the synthetic generator."""
