"""The action server's answers are checked against Rasa's schema by a validator built once, not once per call.

Rasa 3.6 checks every answer of the action server with ``jsonschema.validate(result, schema)``
(:meth:`rasa.core.actions.action.RemoteAction._validate_action_result`). That function first validates the *schema*
against JSON Schema's meta-schema and builds a new validator, on every call: with Rasa's events schema (23
alternatives for each event) it cost 20 ms of CPU per action call, 40-90 ms of a 90-170 ms turn
(docs/results/turn-profile.md, issue 24). ``install()`` replaces the method with one that validates with a validator
of the same class (``jsonschema.validators.validator_for``) built once from the same schema, after checking the
schema once: a response passes or fails exactly as before, with the same error (``best_match`` of the errors) and
the same explanation appended to its message.

``bot.server`` installs this before starting Rasa.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

_installed: Optional[Any] = None
_validator: Optional[Any] = None


def validator() -> Any:
    """The validator of Rasa's action-response schema, built (and the schema checked) on first use."""
    global _validator
    if _validator is None:
        from jsonschema.validators import validator_for
        from rasa.core.actions.action import RemoteAction

        schema = RemoteAction.action_response_format_spec()
        cls = validator_for(schema)
        cls.check_schema(schema)
        _validator = cls(schema)
    return _validator


def install() -> None:
    """Replace RemoteAction._validate_action_result (idempotent)."""
    global _installed
    from jsonschema import exceptions
    from rasa.core.actions import action as rasa_action
    from rasa.shared.constants import DOCS_BASE_URL

    if _installed is not None:
        return
    original = rasa_action.RemoteAction._validate_action_result

    def _validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
        error = exceptions.best_match(validator().iter_errors(result))
        if error is not None:
            error.message += (
                f". Failed to validate Action server response from API, "
                f"make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit "
                f"{DOCS_BASE_URL}/custom-actions"
            )
            raise error
        return True

    rasa_action.RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    _installed = original
