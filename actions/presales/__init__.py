"""Presales: the B2B quote intake (issue 22); imported by the action server and tests.

- :mod:`actions.presales.intake`: read a buyer's message into a ``Need`` (product, quantity, customisation, cities,
  needed-by date, company, contact, sample request, corrections) and merge it into the intake's values (pure)
- :mod:`actions.presales.qualify`: checkout or lead, hot or warm, and the stock answer, from ``config.yml`` (the shop's
  published B2B thresholds, docs/shop-policies.md §14); ``cities.yml`` is the city vocabulary the intake reads
"""
