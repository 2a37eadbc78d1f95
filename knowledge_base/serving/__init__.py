"""Query time: the published build loaded and followed (runtime), matching and the answer / clarify / no-answer decision; the action server imports it, and building and learning build on it.

Modules: ``runtime`` (``KnowledgeBase``, ``shared_knowledge_base``, the ``current`` pointer), ``matcher``
(``Matcher``, ``MatchResult``, query cleaning, reply language), ``scoring`` (candidates, features, ranker,
``decide``, the outcomes ``ANSWER``/``CLARIFY``/``NO_ANSWER``), ``index`` (the in-memory index and its files),
``lexical`` (tokenisation and BM25) and ``encoders`` (sentence encoders, ``auto``, an adapted build's encoder).
Nothing here trains or writes a build.
"""
