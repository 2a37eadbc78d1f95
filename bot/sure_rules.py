"""When a rule decides the next action, the other policies are not asked.

Every prediction of a turn (2-3 a turn) runs every policy of ``config.yml``: RulePolicy, MemoizationPolicy and
TEDPolicy, then the ensemble picks one (``DefaultPolicyPredictionEnsemble._pick_best_policy``). TED was 10-18 ms of
a turn's CPU, Memoization 1-2 ms, and both read the whole conversation (docs/results/turn-profile.md, issue 24),
while in Kefu's conversations a rule decides almost every step (FAQ, forms, the language slot).

The ensemble's choice when RulePolicy predicts with confidence 1.0 is always RulePolicy's: predictions are compared
by (confidence, priority), no confidence is above 1.0 and RulePolicy's priority (4) is above Memoization's (3) and
TED's (1). Two rules of the ensemble could still pick another one, and then nothing is skipped:

- an *end-to-end* prediction (made from the user's text) overrules predictions made from intents. Memoization never
  makes one; TED only when it was trained on stories with user text (``TEXT`` in its ``fake_features``), which
  Kefu's stories have none of: a TED that was is always asked;
- a *rejected* action (the tracker's last action event is ``ActionExecutionRejected``) has its probability set to 0
  in every prediction, so another policy's second choice may win: after a rejection every policy is asked.

So ``install()`` wraps ``DaskGraphRunner._build_dask_graph``: in a graph that runs a RulePolicy, the other policies'
nodes also receive RulePolicy's prediction, and when it is sure (confidence 1.0, or a "no user" loop prediction,
which overrules everything) and none of the exceptions above holds, such a node returns an all-zero prediction of
its own policy instead of running. Its events would have been none (Memoization and TED return none; TED's optional
events only apply when TED wins), so the ensemble returns the same prediction, with the same events.

``KEFU_SURE_RULES_CHECK=1`` asks the policies anyway and logs ``sure_rules.differs`` if one of them would have
changed the ensemble's choice (the end-to-end tests run with it). ``bot.server`` installs this before starting
Rasa; ``KEFU_RUNTIME_BASELINE=1`` leaves it out (bot/runtime.py).
"""

from __future__ import annotations

import logging
import os
from typing import Any, Dict, Optional, Tuple

logger = logging.getLogger(__name__)

_installed: Optional[Any] = None


def checking() -> bool:
    """``KEFU_SURE_RULES_CHECK=1``: a policy not asked is asked anyway, and an error is logged if the ensemble would
    then have chosen otherwise (tests run with it)."""
    return os.environ.get("KEFU_SURE_RULES_CHECK", "").strip() not in ("", "0")


def is_policy_node(node: Any) -> bool:
    from rasa.core.policies.policy import Policy

    cls = getattr(node, "_component_class", None)
    return isinstance(cls, type) and issubclass(cls, Policy) and node._fn_name == "predict_action_probabilities"


def is_rule_node(node: Any) -> bool:
    from rasa.core.policies.rule_policy import RulePolicy

    return is_policy_node(node) and issubclass(node._component_class, RulePolicy)


def may_overrule_a_rule(component: Any) -> bool:
    """Whether this policy can make an end-to-end prediction (which overrules an intent-based rule)."""
    from rasa.core.policies.ted_policy import TEDPolicy
    from rasa.shared.nlu.constants import TEXT

    if isinstance(component, TEDPolicy):
        return TEXT in (component.fake_features or {})
    from rasa.core.policies.memoization import MemoizationPolicy

    return not isinstance(component, MemoizationPolicy)  # a policy we do not know: always asked


def last_action_rejected(tracker: Any) -> bool:
    from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected

    for event in reversed(tracker.events):
        if isinstance(event, ActionExecutionRejected):
            return True
        if isinstance(event, ActionExecuted):
            return False
    return False


def rule_is_sure(prediction: Any) -> bool:
    return bool(prediction.is_no_user_prediction) or (
        not prediction.is_end_to_end_prediction and prediction.max_confidence >= 1.0
    )


class AskedUnlessRuleIsSure:
    """A policy node's task: the node itself, unless RulePolicy's prediction (its last input) is sure."""

    skipped = 0  # predictions not made, in this process (tests read it)

    def __init__(self, node: Any, rule_node: str) -> None:
        self.node = node
        self.rule_node = rule_node

    def __call__(self, *inputs: Any) -> Tuple[str, Any]:
        *own, (_, rule_prediction) = inputs
        component = self.node._component
        if component is not None and rule_is_sure(rule_prediction) and not may_overrule_a_rule(component):
            received: Dict[str, Any] = dict(i for i in own if isinstance(i, tuple))
            tracker = received.get(self.node._inputs.get("tracker"))
            if tracker is not None and not last_action_rejected(tracker):
                AskedUnlessRuleIsSure.skipped += 1
                zeros = [0.0] * len(rule_prediction.probabilities)
                skipped = component._prediction(zeros)
                if checking():
                    return self.check(own, rule_prediction, skipped)
                return self.node._node_name, skipped
        return self.node(*own)

    def check(self, own: Any, rule_prediction: Any, skipped: Any) -> Tuple[str, Any]:
        from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble

        name, asked = self.node(*own)
        pick = DefaultPolicyPredictionEnsemble._pick_best_policy
        if asked.events or pick([rule_prediction, asked]).policy_name != pick([rule_prediction, skipped]).policy_name:
            logger.error("sure_rules.differs node=%s rule=%s asked=%s", name, rule_prediction.policy_name,
                         asked.policy_name)
            return name, asked
        return name, skipped


def install() -> None:
    """Wrap DaskGraphRunner._build_dask_graph (idempotent)."""
    global _installed
    from rasa.engine.graph import GraphNode
    from rasa.engine.runner.dask import DaskGraphRunner

    if _installed is not None:
        return
    original = DaskGraphRunner._build_dask_graph

    def _build_dask_graph(self: Any, schema: Any) -> Dict[str, Any]:
        graph = original(self, schema)
        rules = [name for name, task in graph.items()
                 if isinstance(task, tuple) and isinstance(task[0], GraphNode) and is_rule_node(task[0])]
        if len(rules) != 1:
            return graph
        for name, task in list(graph.items()):
            node = task[0] if isinstance(task, tuple) and task else None
            if isinstance(node, GraphNode) and is_policy_node(node) and name != rules[0]:
                graph[name] = (AskedUnlessRuleIsSure(node, rules[0]), *task[1:], rules[0])
        return graph

    _build_dask_graph.__doc__ = original.__doc__
    DaskGraphRunner._build_dask_graph = _build_dask_graph  # type: ignore[method-assign]
    _installed = original
