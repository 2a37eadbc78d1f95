"""Starts Kefu's processes: ``python -m launcher`` (what ``make run`` calls)."""
