"""Kefu's FAQ knowledge base: sources, encoders, FAISS + BM25 index, calibrated matching.

Entry points: ``python -m knowledge_base`` (build, validate, import, query, eval, unanswered) and
:func:`knowledge_base.runtime.shared_knowledge_base` for the action server.
"""
