"""Kefu's custom actions (one module or package per capability) for the rasa-sdk action server; imported only by it and by tests.

rasa-sdk imports every submodule (``python -m actions.server --actions actions``) and registers
the actions it finds. Nothing outside ``actions`` imports it: the bot calls the action server over
HTTP, the console and the launcher never import it (import contracts in pyproject.toml).
Shared wording of the store-backed capabilities: :mod:`actions.store_replies`.
"""
