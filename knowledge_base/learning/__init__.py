"""Learning from what the knowledge base could not answer, and measuring it: the action server records through ``unanswered``, the console reviews and teaches through ``unanswered`` and ``curation``; evaluation and ablations are for the command line and benchmarks.

Modules: ``unanswered`` (the store of no-answer and clarify turns, grouping, and ``review`` for the supervisor
dashboard), ``curation`` (supervisors link, draft, dismiss and undo; builds with what was learned; the console's
background rebuild), ``evaluation`` (``python -m knowledge_base eval``) and ``ablation`` (evidence ablations for
benchmarks; the product never runs them).
"""
