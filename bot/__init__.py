"""Kefu's Rasa project: domain, training data, texts, custom NLU components, channels and server plugins; only the Rasa process (and its tests) imports it.

Language handling and the texts' loader live in :mod:`kernel` (``kernel.language``, ``kernel.i18n``), so the
action server and the console never import this package.
"""
