"""Kefu's runtime against the Rasa it patches (bot/runtime.py): an upgrade that changes a patched method fails here.

Every Rasa method a patch replaces, and every Rasa function its wrapper calls, is recorded below with its
``inspect.signature`` in Rasa 3.6.21. The signatures are read in a fresh interpreter, before anything is installed,
so they are Rasa's own; a failure names the patch to review (then update the record). The same interpreter then
installs the runtime and reports which methods changed: exactly the recorded ones, every one by its patch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest

from bot import runtime
from kernel.settings import ROOT

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env

_A = "rasa.core.actions.action"
_P = "rasa.core.processor:MessageProcessor"
_T = "rasa.core.tracker_store:FailSafeTrackerStore"
_S = "rasa.core.tracker_store:SQLTrackerStore"
_D = "rasa.engine.runner.dask:DaskGraphRunner"
_R = "rasa.core.policies.rule_policy:RulePolicy"
_PROCESSOR = (
    "(self, output_channel: rasa.core.channels.channel.OutputChannel, "
    "tracker: rasa.shared.core.trackers.DialogueStateTracker) -> None"
)

#: patch -> Rasa method it replaces -> signature in Rasa 3.6.21
REPLACED: Dict[str, Dict[str, str]] = {
    "action_events": {
        f"{_A}:RemoteAction.run": "(self, output_channel: 'OutputChannel', nlg: 'NaturalLanguageGenerator', "
        "tracker: 'DialogueStateTracker', domain: 'Domain') -> List[rasa.shared.core.events.Event]",
        f"{_A}:RemoteAction._action_call_format": "(self, tracker: 'DialogueStateTracker', domain: 'Domain') "
        "-> Dict[str, Any]",
    },
    "action_failures": {
        f"{_A}:RemoteAction.run": "(self, output_channel: 'OutputChannel', nlg: 'NaturalLanguageGenerator', "
        "tracker: 'DialogueStateTracker', domain: 'Domain') -> List[rasa.shared.core.events.Event]",
    },
    "action_results": {f"{_A}:RemoteAction._validate_action_result": "(self, result: Dict[str, Any]) -> bool"},
    "tracker_save": {
        f"{_S}.save": "(self, tracker: 'DialogueStateTracker') -> 'None'",
        f"{_S}.retrieve": "(self, sender_id: 'Text') -> 'Optional[DialogueStateTracker]'",
    },
    "sure_rules": {
        f"{_D}._build_dask_graph": "(self, schema: 'GraphSchema') -> 'Dict[Text, Any]'",
    },
    "local_language": {
        f"{_A}:ActionExtractSlots._run_custom_action": "(self, custom_action: str, output_channel: "
        "'OutputChannel', nlg: 'NaturalLanguageGenerator', tracker: 'DialogueStateTracker', domain: 'Domain') "
        "-> List[rasa.shared.core.events.Event]",
    },
    "gc_freeze": {
        "rasa.core.agent:Agent.load_model": "(self, model_path: 'Union[Text, Path]', "
        "fingerprint: 'Optional[Text]' = None) -> 'None'",
    },
    "rule_window": {
        f"{_R}._prediction_states": "(self, tracker: 'DialogueStateTracker', domain: 'Domain', "
        "use_text_for_last_user_input: 'bool' = False, rule_only_data: 'Optional[Dict[Text, Any]]' = None) "
        "-> 'List[State]'",
    },
    "store_failures": {
        f"{_T}.retrieve": "(self, sender_id: 'Text') -> 'Optional[DialogueStateTracker]'",
        f"{_T}.retrieve_full_tracker": "(self, sender_id: 'Text') -> 'Optional[DialogueStateTracker]'",
        f"{_T}.save": "(self, tracker: 'DialogueStateTracker') -> 'None'",
    },
    "never_silent": {
        f"{_P}._run_action": "(self, action: rasa.core.actions.action.Action, "
        "tracker: rasa.shared.core.trackers.DialogueStateTracker, "
        "output_channel: rasa.core.channels.channel.OutputChannel, "
        "nlg: rasa.core.nlg.generator.NaturalLanguageGenerator, "
        "prediction: rasa.core.policies.policy.PolicyPrediction) -> bool",
    },
    "waiting": {f"{_P}._run_prediction_loop": _PROCESSOR},
    "turn_router": {f"{_P}._run_prediction_loop": _PROCESSOR},
    "control_commands": {
        f"{_P}._handle_message_with_tracker": "(self, message: rasa.core.channels.channel.UserMessage, "
        "tracker: rasa.shared.core.trackers.DialogueStateTracker) -> None",
    },
}

#: patch -> Rasa functions its wrapper calls (or whose attributes it reads) -> signature in Rasa 3.6.21
CALLED: Dict[str, Dict[str, str]] = {
    "action_events": {
        "rasa.shared.core.trackers:DialogueStateTracker.current_state": "(self, event_verbosity: "
        "rasa.shared.core.trackers.EventVerbosity = <EventVerbosity.NONE: 1>) -> Dict[str, Any]",
        "rasa.shared.core.events:Event.as_dict": "(self) -> Dict[str, Any]",
        "rasa.utils.endpoints:ClientResponseError.__init__": "(self, status: int, message: str, text: str) -> None",
    },
    "action_failures": {
        f"{_A}:create_bot_utterance": "(message: Dict[str, Any]) -> rasa.shared.core.events.BotUttered",
        "rasa.core.nlg.generator:NaturalLanguageGenerator.generate": "(self, utter_action: str, "
        "tracker: 'DialogueStateTracker', output_channel: str, **kwargs: Any) -> Optional[Dict[str, Any]]",
    },
    "action_results": {f"{_A}:RemoteAction.action_response_format_spec": "() -> Dict[str, Any]"},
    "tracker_save": {
        f"{_S}._event_query": "(self, session: \"'Session'\", sender_id: 'Text', "
        "fetch_events_from_all_sessions: 'bool') -> \"'Query'\"",
        f"{_S}.session_scope": "(self) -> \"Generator['Session', None, None]\"",
        "rasa.core.brokers.sql:SQLEventBroker.session_scope": "(self) -> "
        "Generator[sqlalchemy.orm.session.Session, NoneType, NoneType]",
        "rasa.core.brokers.sql:SQLEventBroker.publish": "(self, event: Dict[str, Any]) -> None",
    },
    "sure_rules": {
        "rasa.core.policies.policy:Policy._prediction": "(self, probabilities: 'List[float]', "
        "events: 'Optional[List[Event]]' = None, optional_events: 'Optional[List[Event]]' = None, "
        "is_end_to_end_prediction: 'bool' = False, is_no_user_prediction: 'bool' = False, "
        "diagnostic_data: 'Optional[Dict[Text, Any]]' = None, "
        "action_metadata: 'Optional[Dict[Text, Any]]' = None) -> 'PolicyPrediction'",
        "rasa.engine.graph:GraphNode.__call__": "(self, *inputs_from_previous_nodes: "
        "'Union[Tuple[Text, Any], Text]') -> 'Tuple[Text, Any]'",
    },
    "gc_freeze": {},  # it calls only the method it wraps
    "local_language": {
        "rasa.shared.core.trackers:DialogueStateTracker.get_slot": "(self, key: str) -> Optional[Any]",
    },
    "rule_window": {
        "rasa.core.featurizers.tracker_featurizers:TrackerFeaturizer._choose_last_user_input": "(self, "
        "trackers_as_states: 'List[List[State]]', use_text_for_last_user_input: 'bool') -> 'None'",
        "rasa.shared.core.domain:Domain.get_active_state": "(self, tracker: 'DialogueStateTracker', "
        "omit_unset_slots: bool = False) -> Dict[str, MutableMapping[str, Union[str, Tuple[Union[float, str], "
        "...]]]]",
        "rasa.shared.core.domain:Domain._clean_state": "(state: Dict[str, MutableMapping[str, Union[str, "
        "Tuple[Union[float, str], ...]]]]) -> Dict[str, MutableMapping[str, Union[str, Tuple[Union[float, str], "
        "...]]]]",
        "rasa.shared.core.trackers:DialogueStateTracker.applied_events": "(self) -> "
        "List[rasa.shared.core.events.Event]",
        "rasa.shared.core.trackers:DialogueStateTracker.init_copy": "(self) -> 'DialogueStateTracker'",
        f"{_R}._rule_key_to_state": "(rule_key: 'Text') -> 'List[State]'",
    },
    "store_failures": {
        f"{_T}.on_tracker_store_error": "(self, error: 'Exception') -> 'None'",
        f"{_T}.on_tracker_store_retrieve_error": "(self, error: 'Exception') -> 'None'",
    },
    "never_silent": {
        f"{_A}:action_for_name_or_text": "(action_name_or_text: str, domain: rasa.shared.core.domain.Domain, "
        "action_endpoint: Optional[rasa.utils.endpoints.EndpointConfig]) -> 'Action'",
        "rasa.core.policies.policy:PolicyPrediction.for_action_name": "(domain: 'Domain', "
        "action_name: 'Text', policy_name: 'Optional[Text]' = None, confidence: 'float' = 1.0, "
        "action_metadata: 'Optional[Dict[Text, Any]]' = None) -> \"'PolicyPrediction'\"",
    },
    "waiting": {
        f"{_P}._send_bot_messages": "(events: List[rasa.shared.core.events.Event], "
        "tracker: rasa.shared.core.trackers.DialogueStateTracker, "
        "output_channel: rasa.core.channels.channel.OutputChannel) -> None",
    },
    "turn_router": {
        f"{_P}._log_action_on_tracker": "(self, tracker: rasa.shared.core.trackers.DialogueStateTracker, "
        "action: rasa.core.actions.action.Action, events: Optional[List[rasa.shared.core.events.Event]], "
        "prediction: rasa.core.policies.policy.PolicyPrediction) -> None",
        f"{_P}.execute_side_effects": "(self, events: List[rasa.shared.core.events.Event], "
        "tracker: rasa.shared.core.trackers.DialogueStateTracker, "
        "output_channel: rasa.core.channels.channel.OutputChannel) -> None",
    },
    "control_commands": {
        f"{_P}.parse_message": "(self, message: rasa.core.channels.channel.UserMessage, "
        "tracker: Optional[rasa.shared.core.trackers.DialogueStateTracker] = None, "
        "only_output_properties: bool = True) -> Dict[str, Any]",
    },
}

#: the classes whose methods the runtime may replace: after install, exactly the recorded ones differ
PATCHED_CLASSES = (f"{_A}:RemoteAction", f"{_A}:ActionExtractSlots", _T, _S, _P, _D, _R, "rasa.core.agent:Agent")

_PROBE = r"""
import inspect, json, sys
from bot import runtime

targets = json.loads(sys.argv[1])
classes = json.loads(sys.argv[2])

def read(target):
    try:
        return {"signature": runtime.signature(target)}
    except (AttributeError, ImportError) as error:
        return {"missing": f"{type(error).__name__}: {error}"}

def methods():
    found = {}
    for path in classes:
        owner, name = runtime.owner_and_name(path)
        cls = getattr(owner, name)
        for attribute, value in vars(cls).items():
            found[f"{path}.{attribute}"] = value
    return found

pristine = {target: read(target) for target in targets}
before = methods()
runtime.install()
after = methods()
changed = sorted(key for key in after if after[key] is not before.get(key))
parameters = {}
for patch_targets in runtime.PATCHES.values():
    for target in patch_targets:
        owner, name = runtime.owner_and_name(target)
        parameters[target] = [[f.__module__, list(inspect.signature(f).parameters)]
                              for f in runtime.chain(getattr(owner, name))]
print(json.dumps({"pristine": pristine, "changed": changed, "state": runtime.state(), "parameters": parameters}))
"""


def _recorded(table: Dict[str, Dict[str, str]]) -> Dict[str, str]:
    return {target: signature for targets in table.values() for target, signature in targets.items()}


@pytest.fixture(scope="module")
def probe() -> Dict[str, Any]:
    """Rasa's signatures before anything is installed, then what installing the runtime changed (a fresh
    interpreter: the other tests of this process install patches of their own)."""
    targets = sorted({**_recorded(REPLACED), **_recorded(CALLED)})
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KEFU_RUNTIME_BASELINE": ""}
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(targets), json.dumps(PATCHED_CLASSES)],
        cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_record_covers_every_patch() -> None:
    assert set(REPLACED) == set(runtime.PATCHES) == set(CALLED)
    for patch, targets in runtime.PATCHES.items():
        assert set(REPLACED[patch]) == set(targets), f"bot/{patch}.py: record what its install() replaces"


def _check(probe: Dict[str, Any], table: Dict[str, Dict[str, str]], what: str) -> None:
    problems = []
    for patch, targets in table.items():
        for target, recorded in targets.items():
            now = probe["pristine"][target]
            if "missing" in now:
                problems.append(f"bot/{patch}.py {what} {target}, which this Rasa does not have ({now['missing']})")
            elif now["signature"] != recorded:
                problems.append(f"bot/{patch}.py {what} {target}, whose signature changed:\n"
                                f"  recorded (Rasa 3.6.21): {recorded}\n  now ({probe['state']['rasa']}): "
                                f"{now['signature']}")
    assert not problems, ("Rasa changed what Kefu's runtime patches; review each patch before upgrading, then "
                          "update the record in this file:\n" + "\n".join(problems))


def test_every_replaced_method_has_its_recorded_signature(probe: Dict[str, Any]) -> None:
    _check(probe, REPLACED, "replaces")


def test_every_rasa_function_a_wrapper_calls_has_its_recorded_signature(probe: Dict[str, Any]) -> None:
    _check(probe, CALLED, "calls")


def test_installing_changes_exactly_the_recorded_methods(probe: Dict[str, Any]) -> None:
    assert probe["state"]["installed"] == {patch: True for patch in runtime.PATCHES}
    assert set(probe["changed"]) == set(_recorded(REPLACED)), "a patch replaces a Rasa method nobody recorded"
    for patch, targets in runtime.PATCHES.items():
        for target in targets:
            assert f"bot.{patch}" in probe["state"]["targets"][target], f"bot/{patch}.py does not wrap {target}"


def test_each_wrapper_takes_the_parameters_of_the_method_it_wraps(probe: Dict[str, Any]) -> None:
    for target, chain in probe["parameters"].items():
        rasa_parameters = chain[-1][1]
        for module, parameters in chain:
            assert parameters == rasa_parameters, f"{module} wraps {target} with other parameters: {parameters}"


@pytest.mark.parametrize("command", ["run", "shell", "interactive", "test"])
def test_every_bot_server_command_runs_on_the_whole_runtime(command: str, tmp_path: Path) -> None:
    """What ``make run``, ``make shell``, ``make interactive`` and ``make test-stories`` start: the process has
    every patch in place (``--help`` stops before Rasa does anything else)."""
    report = tmp_path / "runtime.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KEFU_RUNTIME_REPORT": str(report), "KEFU_DEMO": "true",
           "KEFU_VAR_DIR": str(tmp_path / "var"), "RASA_TELEMETRY_ENABLED": "false", "KEFU_RUNTIME_BASELINE": ""}
    result = subprocess.run([sys.executable, "-m", "bot.server", command, "--help"], cwd=str(ROOT), env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(report.read_text())["installed"] == {patch: True for patch in runtime.PATCHES}


def test_the_baseline_runtime_leaves_only_the_speed_patches_out(tmp_path: Path) -> None:
    """``KEFU_RUNTIME_BASELINE=1`` (benchmarks: today's runtime beside the earlier one): every patch that changes
    behaviour is in place, none of the speed patches is."""
    report = tmp_path / "runtime.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KEFU_RUNTIME_REPORT": str(report), "KEFU_DEMO": "true",
           "KEFU_VAR_DIR": str(tmp_path / "var"), "RASA_TELEMETRY_ENABLED": "false", "KEFU_RUNTIME_BASELINE": "1"}
    result = subprocess.run([sys.executable, "-m", "bot.server", "run", "--help"], cwd=str(ROOT), env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert set(runtime.SPEED_PATCHES) < set(runtime.PATCHES)
    assert json.loads(report.read_text())["installed"] == {
        patch: patch not in runtime.SPEED_PATCHES for patch in runtime.PATCHES
    }
