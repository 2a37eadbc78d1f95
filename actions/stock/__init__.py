"""Stock check: product matching, the stock answer's wording, the rasa-sdk actions; imported by the action server and tests.

- :mod:`actions.stock.matching`: product, variant, city and store resolution, and the stock view (pure)
- :mod:`actions.stock.rendering`: reply texts, buttons and the ``stock`` card (pure)
- :mod:`actions.stock.actions`: the rasa-sdk form validator and actions, the catalogue cache

Online stock and store stock come from the same ``stock_levels`` data in one call, so the bot
can never say "in stock online" from one source and "none in the store" from another. Online
stock is what the warehouses hold; which cities have stores is what the store's locations say.
"""
