"""Starts Kefu's processes (``python -m launcher``, what ``make run`` calls); only the test harnesses import it, and it imports none of the processes it starts (only :mod:`kernel`)."""
