"""Privacy: the retention policy and its daily job, and a customer's access and erasure requests over every store that holds personal data; only the console (its CLI, its web layer and its scheduler) imports it.

Modules: ``policy`` (console/privacy.yml with environment overrides), ``models`` (the audit and lock tables),
``subjects`` (who a request is about: a customer id or a conversation id, checked, and the conversations that
belong to it), ``stores`` (each store's export, erase and retention, reached by its database URL: the console
imports neither the bot nor the action server), ``service`` (export, erase and retain across the stores, with
the audit record and the lock), ``schedule`` (the console process's daily run), ``cli``
(``python -m console privacy``). What is stored where: docs/privacy.md.
"""
