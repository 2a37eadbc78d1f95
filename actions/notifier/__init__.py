"""The notifier: promises the bot made ("到货后会在这里通知您") kept by a process of their own.

``ledger`` (claims and outcomes of notices, opt-outs; SQL), ``service`` (one pass: restock requests whose
product is back → a notice on the customer's channel through Rasa's HTTP API), ``__main__`` (the process, with
``GET /health``). The action server's ``action_restock_unsubscribe`` writes opt-outs to the same ledger.
docs/notices.md.
"""
