"""Agent presence and automatic assignment (issue 27): who is online, away or offline, how many open tickets each
agent takes (capacity), and the assigner that gives a waiting ticket to an online agent of its team with free
capacity, the least recently assigned first.

Modules: ``presence`` (the settings and the pure rules: effective presence, capacity, who is next),
``assigner`` (the database work: one assignment per transaction, safe with several console processes),
``service`` (presence changes, heartbeats, a supervisor's reassignment, and the background loop that assigns
and tells the customer).
"""

