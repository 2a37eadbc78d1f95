"""Kefu's custom actions, served by the rasa-sdk action server (.venv).

One module per capability; rasa-sdk imports every submodule and registers the
actions it finds.
"""
