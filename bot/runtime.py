"""Kefu's runtime: what ``bot.server`` installs in Rasa 3.6 before any command runs, and what it replaced.

Six modules change Rasa's behaviour by wrapping one of its methods each, and seven make a turn cheaper with the
same results (:data:`PATCHES` names them, in the order they are installed; ``turn_router`` after ``waiting``: a
paused conversation is never routed; ``action_events`` before ``action_failures``, whose apology then covers a call
that fails after its retry): action_events (an action call carries only the events the action server has not seen:
the whole session's events were sent, encoded and parsed on every call), action_results (20 ms of CPU per action
call), tracker_save (a save reloaded the whole conversation and committed each event to the broker on its own; a
load read and replayed the whole session: now the tracker a turn saved is kept per replica and checked against the
database) sure_rules (TED and Memoization are not asked when a rule is sure), rule_window (RulePolicy reads the last
turns, from states kept on the tracker), local_language (the language slot worked out in process instead of by an
action-server call; docs/results/turn-profile.md) and gc_freeze (the loaded model is moved out of the cyclic
collector's reach: a full collection took 714 ms). None of these has an extension point in Rasa 3.6 that
``config.yml`` or ``endpoints.yml`` could name:

- ``Agent.load_model`` (gc_freeze) is called by Rasa's server at start and on a model replaced through the API;
- ``ActionExtractSlots`` (local_language) runs the custom slot mappings the domain names;
- ``RemoteAction.run`` (action_failures, action_events), ``RemoteAction._action_call_format`` (action_events) and
  ``RemoteAction._validate_action_result`` (action_results) are not reachable through the action endpoint's
  configuration;
- ``FailSafeTrackerStore`` (store_failures) wraps *every* configured tracker store, a custom one included;
- the graph runner (sure_rules) is built by the agent from the model, never named, and RulePolicy
  (rule_window) is loaded from the model: a subclass would need a new model and config;
- ``SQLTrackerStore.save`` and ``retrieve`` (tracker_save) could be a subclass named in ``endpoints.yml``, but then every
  deployment's endpoints (compose, Kubernetes, a seller's own) would have to name it to get the saving; patched,
  the SQL store is fast wherever it is configured;
- the processor (never_silent, waiting, turn_router, control_commands) is built by the agent, never named.

So the patches stay, and tests/bot/test_runtime_patches.py records the signature of every Rasa method listed
here: a Rasa upgrade that changes one fails there, naming the patch. :func:`state` reads, in the running
process, which patches are in place (``bot.server`` writes it to ``KEFU_RUNTIME_REPORT`` when asked, so the
end-to-end stories can show that they ran on this runtime).

Importing this module imports no Rasa (the app environment's tests read :data:`PATCHES`).
"""

from __future__ import annotations

import importlib
import inspect
import os
from typing import Any, Callable, Dict, List, Tuple

#: patch (module ``bot.<name>``) -> the Rasa attributes its ``install()`` replaces, as ``module:Class.method``
PATCHES: Dict[str, Tuple[str, ...]] = {
    "action_events": (
        "rasa.core.actions.action:RemoteAction.run",
        "rasa.core.actions.action:RemoteAction._action_call_format",
    ),
    "action_failures": ("rasa.core.actions.action:RemoteAction.run",),
    "action_results": ("rasa.core.actions.action:RemoteAction._validate_action_result",),
    "tracker_save": (
        "rasa.core.tracker_store:SQLTrackerStore.save",
        "rasa.core.tracker_store:SQLTrackerStore.retrieve",
    ),
    "sure_rules": ("rasa.engine.runner.dask:DaskGraphRunner._build_dask_graph",),
    "rule_window": ("rasa.core.policies.rule_policy:RulePolicy._prediction_states",),
    "local_language": ("rasa.core.actions.action:ActionExtractSlots._run_custom_action",),
    "gc_freeze": ("rasa.core.agent:Agent.load_model",),
    "store_failures": (
        "rasa.core.tracker_store:FailSafeTrackerStore.retrieve",
        "rasa.core.tracker_store:FailSafeTrackerStore.retrieve_full_tracker",
        "rasa.core.tracker_store:FailSafeTrackerStore.save",
    ),
    "never_silent": ("rasa.core.processor:MessageProcessor._run_action",),
    "waiting": ("rasa.core.processor:MessageProcessor._run_prediction_loop",),
    "turn_router": ("rasa.core.processor:MessageProcessor._run_prediction_loop",),
    "control_commands": ("rasa.core.processor:MessageProcessor._handle_message_with_tracker",),
}


#: the patches that only make a turn cheaper (same results): ``KEFU_RUNTIME_BASELINE=1`` leaves Rasa's own code in
#: their place, so that a benchmark can run today's and the earlier runtime side by side (benchmarks/load.py
#: ``--variant``, benchmarks/turn_profile.py ``--rasa-env``); the others change behaviour and are always installed
SPEED_PATCHES = ("action_events", "action_results", "tracker_save", "sure_rules", "rule_window", "local_language", "gc_freeze")


def install() -> None:
    """Install every patch of :data:`PATCHES`, in order (each ``install()`` is idempotent); with
    ``KEFU_RUNTIME_BASELINE=1``, all but :data:`SPEED_PATCHES`."""
    baseline = os.environ.get("KEFU_RUNTIME_BASELINE", "").strip() not in ("", "0")
    for name in PATCHES:
        if baseline and name in SPEED_PATCHES:
            continue
        importlib.import_module(f"bot.{name}").install()


def owner_and_name(target: str) -> Tuple[Any, str]:
    """``"rasa.core.processor:MessageProcessor._run_action"`` -> (MessageProcessor, "_run_action")."""
    module_name, _, path = target.partition(":")
    *owners, attribute = path.split(".")
    owner: Any = importlib.import_module(module_name)
    for part in owners:
        owner = getattr(owner, part)
    return owner, attribute


def chain(function: Callable[..., Any]) -> List[Callable[..., Any]]:
    """The wrappers around a method, outermost first, down to the function they wrap: each Kefu wrapper keeps
    the function it wraps in its closure as ``original``."""
    found: List[Callable[..., Any]] = []
    current: Any = function
    while current is not None and current not in found:
        found.append(current)
        code = getattr(current, "__code__", None)
        cells = getattr(current, "__closure__", None) or ()
        names = code.co_freevars if code is not None else ()
        current = dict(zip(names, (cell.cell_contents for cell in cells), strict=False)).get("original")
    return found


def modules_of(target: str) -> List[str]:
    """The modules of the functions now behind ``target``, outermost first (the last one is Rasa's unless a
    patch replaced the method outright)."""
    owner, attribute = owner_and_name(target)
    return [getattr(function, "__module__", "?") for function in chain(getattr(owner, attribute))]


def state() -> Dict[str, Any]:
    """Which patches are in place in this process: ``{"rasa": version, "installed": {patch: bool},
    "targets": {target: [modules, outermost first]}}``."""
    import rasa

    targets = {target: modules_of(target) for targets in PATCHES.values() for target in targets}
    installed = {
        name: all(f"bot.{name}" in targets[target] for target in PATCHES[name]) for name in PATCHES
    }
    return {"rasa": rasa.__version__, "installed": installed, "targets": targets}


def signature(target: str) -> str:
    """``inspect.signature`` of what ``target`` is now (Rasa's own method when nothing is installed)."""
    owner, attribute = owner_and_name(target)
    return str(inspect.signature(getattr(owner, attribute)))
