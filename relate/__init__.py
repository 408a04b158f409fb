"""RELATE reproduction suite."""
