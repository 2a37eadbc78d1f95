"""Kefu's FAQ knowledge base, in three subpackages (building, serving, learning) and an optional English stack; the action server imports serving and learning, the console learning only.

- ``serving``: what answers at query time: the loaded build and hot reload (``runtime``), the matcher and the
  decision (``matcher``, ``scoring``), the index, the lexical index and the encoders;
- ``building``: from FAQ sources to a published build: sources, import, calibration, assembly, the
  versioned builds and the ``ask_faq`` NLU export;
- ``learning``: the unanswered questions (recorded by the action server, listed for staff, reviewed on the
  supervisor dashboard through ``learning.unanswered.review``), evaluation on labelled queries, and the
  evidence ablations benchmarks measure;
- ``english``: the optional English adaptation stack (extra ``kb-english``, not installed by default).

``config`` holds the settings all of them read. Entry points: ``python -m knowledge_base`` (build, validate,
import, query, eval, unanswered, nlu-export) and :func:`knowledge_base.serving.runtime.shared_knowledge_base`.
"""
