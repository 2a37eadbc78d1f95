"""Administration of the console (supervisors in the UI, operators on the command line): agents, teams with their
categories and staffed hours, canned responses, the escalation word lists; every change is written to an append-only
audit log.

``models`` (the tables), ``directory`` (the current teams, routing and canned responses every reader uses, seeded
once from console/config.yml and console/canned.yml), ``escalation`` (the word lists' checks and the defaults of
actions/escalation.yml), ``service`` (the checked, audited changes), ``cli`` (``python -m console
teams|canned|escalation ...``).
"""
