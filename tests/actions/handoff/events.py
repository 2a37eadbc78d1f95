"""Rasa tracker events as plain dicts, for building test conversations."""

from __future__ import annotations

import itertools
from typing import Any, Dict, List, Optional

_clock = itertools.count(1_763_800_000)


def user(text: str, intent: str, confidence: float = 0.9, entities: Optional[List[Dict[str, Any]]] = None,
         channel: str = "rest") -> Dict[str, Any]:
    return {"event": "user", "text": text, "timestamp": float(next(_clock)), "input_channel": channel,
            "parse_data": {"intent": {"name": intent, "confidence": confidence}, "entities": entities or [],
                           "intent_ranking": [{"name": intent, "confidence": confidence},
                                              {"name": "out_of_scope", "confidence": 1 - confidence}]}}


def bot(text: str, custom: Optional[Dict[str, Any]] = None, buttons: Optional[List[Dict[str, str]]] = None) -> Dict[str, Any]:
    data: Dict[str, Any] = {}
    if custom:
        data["custom"] = custom
    if buttons:
        data["buttons"] = buttons
    return {"event": "bot", "text": text, "timestamp": float(next(_clock)), "data": data}


def slot(name: str, value: Any) -> Dict[str, Any]:
    return {"event": "slot", "name": name, "value": value, "timestamp": float(next(_clock))}


def action(name: str) -> Dict[str, Any]:
    return {"event": "action", "name": name, "timestamp": float(next(_clock))}
