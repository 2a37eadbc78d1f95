"""Kefu's Rasa project: domain, training data, custom NLU components and channels.

Only :mod:`bot.language` and :mod:`bot.i18n` are imported outside the Rasa
environment; they depend on the standard library and OpenCC alone.
"""
