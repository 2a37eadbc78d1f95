"""Search across open and closed conversations (issue 27): by order number, the phone suffix the customer gave,
customer id, ticket number or free text, with paging, inside the caller's scope.

Modules: ``keys`` (pure: what a query asks for, and the search keys in a ticket's context and messages),
``models`` (the ``console_search_keys`` table), ``store`` (keeping the keys, the one-off fill of older tickets, and
the paged search).
"""
