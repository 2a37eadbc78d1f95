"""Which team a presales lead's ticket goes to (``presales.routing`` in console/config.yml), and the previous
owner: pure functions over the lead and the configuration; the store looks the owner up.

A rule names ``product_line`` and/or ``region`` and a ``team``; the first rule whose every named key equals the
lead's value wins. No match (or no lead): the category routing (``routing:``) decides, as for any ticket.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from kernel.leads import Lead

#: The lead fields a routing rule may match on.
RULE_KEYS = ("product_line", "region")


def route_lead(lead: Optional[Lead], rules: Sequence[Mapping[str, Any]]) -> Optional[str]:
    """The team of the first rule matching ``lead``; None when none does."""
    if lead is None:
        return None
    for rule in rules:
        keys = [k for k in RULE_KEYS if k in rule]
        if keys and all(getattr(lead, k) == rule[k] for k in keys):
            return str(rule["team"])
    return None


def owner_team(routed: str, owner_teams: Sequence[str], known: Sequence[str]) -> str:
    """The team of a ticket whose lead has a previous owner: the routed team when the owner works in it (or
    belongs to no known team: a supervisor sees every team), else the owner's first known team."""
    teams = [t for t in owner_teams if t in known]
    if not teams or routed in teams:
        return routed
    return teams[0]
