"""From FAQ sources to a published build (validate, import, encode, calibrate, assemble, publish, NLU export); the command line, learning, the English stack and benchmarks import it, never a served process.

Modules: ``source`` (the YAML sources), ``importer`` (CSV/JSONL import and its quality report), ``indexing``
(``build_index``: encode, adapt where the English stack applies, calibrate, assemble), ``calibration``,
``assemble`` (the in-memory index and the linear models it trains), ``builder`` (versioned builds and the
atomic ``current`` pointer) and ``nlu_export`` (the entries' phrasings as Rasa ``ask_faq`` examples).
"""
