"""Command line: ``python -m knowledge_base {build,validate,import,query,eval,unanswered,nlu-export}``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import List, Optional, Sequence

from knowledge_base.config import ConfigError, KBConfig, load_config

PROJECT_NLU = Path(__file__).resolve().parent.parent / "bot" / "data" / "nlu"


def _config(args: argparse.Namespace) -> KBConfig:
    config = load_config(path=args.config)
    if getattr(args, "encoder", None):
        config = replace(config, encoder=args.encoder)
    if getattr(args, "sources", None):
        config = replace(config, sources=Path(args.sources).resolve())
    if getattr(args, "out_dir", None):
        config = replace(config, output_dir=Path(args.out_dir).resolve())
    return config


def cmd_build(args: argparse.Namespace) -> int:
    from knowledge_base.learning.curation import build  # the sources plus what supervisors taught in the console

    outcome = build(_config(args), force=args.force)
    m = outcome.manifest
    if outcome.built:
        print(
            f"built {m.version}: {m.entries} entries, {m.questions} questions, encoder {m.encoder_id}, "
            f"{m.index_type}, {m.build_seconds:.1f}s; thresholds {m.thresholds}"
        )
    else:
        print(f"up to date: {m.version} (sources, encoder and settings unchanged; --force rebuilds)")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from knowledge_base.building.source import load_entries

    config = _config(args)
    entries = load_entries(config.sources)
    print(f"ok: {len(entries)} entries in {config.sources}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from knowledge_base.building.importer import convert, write_yaml

    entries, report = convert(Path(args.file))
    for line in report.skipped:
        print(f"skipped {line}", file=sys.stderr)
    for line in report.warnings:
        print(f"warning {line}", file=sys.stderr)
    if not entries:
        print("nothing to import", file=sys.stderr)
        return 1
    write_yaml(entries, Path(args.out))
    print(f"wrote {len(entries)} entries from {report.rows} rows to {args.out} ({len(report.skipped)} rows skipped)")
    if not args.no_report:
        from knowledge_base.building.importer import quality_report

        quality = quality_report(entries, _config(args), args.close_similarity)
        for line in quality.lines():
            print(line)
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from knowledge_base.serving.runtime import KnowledgeBase

    kb = KnowledgeBase(_config(args))
    result = kb.matcher().match(args.text, args.language)
    print(
        json.dumps(
            {
                "outcome": result.outcome,
                "language": result.language,
                "answer": result.answer,
                "candidates": [{"id": c.id, "score": round(c.score, 4), "title": c.title} for c in result.candidates],
                "timing_ms": {k: round(v, 3) for k, v in result.timing_ms.items()},
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from knowledge_base.learning.evaluation import evaluate_files, evaluate_project

    config = _config(args)
    if args.train:
        result = evaluate_files(Path(args.train), Path(args.test), config)
    else:
        from knowledge_base.building.builder import build
        from knowledge_base.serving.runtime import KnowledgeBase

        build(config)
        kb = KnowledgeBase(config)
        result = evaluate_project(Path(args.test), kb.matcher())
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def cmd_unanswered(args: argparse.Namespace) -> int:
    from knowledge_base.learning.unanswered import UnansweredStore, list_groups
    from knowledge_base.serving.encoders import get_encoder, resolve_encoder_id

    config = _config(args)
    store = UnansweredStore(args.db_url or config.db_url())
    try:
        groups = list_groups(
            store,
            get_encoder(resolve_encoder_id(config.encoder, [])),
            args.similarity or config.unanswered.group_similarity,
            args.days,
        )
    finally:
        store.dispose()
    groups = groups[: args.limit]
    if args.json:
        print(json.dumps([g.to_dict() for g in groups], ensure_ascii=False, indent=2))
        return 0
    if not groups:
        print("no unanswered questions recorded")
        return 0
    for g in groups:
        langs = ",".join(f"{k}:{v}" for k, v in sorted(g.languages.items()))
        outcomes = ",".join(f"{k}:{v}" for k, v in sorted(g.outcomes.items()))
        near = f"  nearest: {', '.join(g.top_candidates)}" if g.top_candidates else ""
        print(f"{g.count:5d}  {g.text}  [{langs}] [{outcomes}] last {g.last_seen}{near}")
        for ex in g.examples[1:]:
            print(f"       - {ex}")
    return 0


def cmd_nlu_export(args: argparse.Namespace) -> int:
    from knowledge_base.building.nlu_export import ExportSettings, export, stale, write
    from knowledge_base.building.source import load_entries

    config = _config(args)
    if args.per_entry < 1:
        raise ConfigError(f"--per-entry must be at least 1, got {args.per_entry}")
    nlu_dir = Path(args.nlu_dir)
    if not nlu_dir.is_dir():
        raise ConfigError(f"{nlu_dir}: not a directory (the Rasa NLU data, e.g. bot/data/nlu)")
    files = export(load_entries(config.sources), nlu_dir, ExportSettings(per_entry=args.per_entry))
    if args.check:
        out_of_date = stale(files)
        for path in out_of_date:
            print(
                f"out of date: {path} (run `python -m knowledge_base nlu-export`, then `make model`)", file=sys.stderr
            )
        return 1 if out_of_date else 0
    changed = write(files)
    counts = ", ".join(f"{p.name}: {text.count(chr(10) + '    - ')}" for p, text in files.items())
    print(f"{'wrote ' + str(len(changed)) + ' file(s)' if changed else 'up to date'}; ask_faq examples {counts}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m knowledge_base", description="Kefu FAQ knowledge base")
    p.add_argument("--config", type=Path, default=None, help="settings file (default knowledge_base/config.yml)")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="build the index when sources, encoder or settings changed")
    b.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    b.add_argument("--encoder", help="override the configured encoder id")
    b.add_argument("--sources", help="FAQ source directory")
    b.add_argument("--out-dir", help="output directory (default var/kb)")
    b.set_defaults(func=cmd_build)

    v = sub.add_parser("validate", help="check the FAQ sources and list every problem")
    v.add_argument("--sources", help="FAQ source directory")
    v.set_defaults(func=cmd_validate)

    i = sub.add_parser("import", help="convert a CSV/JSONL FAQ export (question,answer[,id,category,lang]) to YAML")
    i.add_argument("file")
    i.add_argument("--out", default="knowledge_base/faq/imported.yml")
    i.add_argument("--no-report", action="store_true", help="skip the quality report (it builds in memory)")
    i.add_argument("--close-similarity", type=float, default=0.9, help="cosine above which entries are too close")
    i.add_argument("--encoder", help="override the configured encoder id (quality report)")
    i.set_defaults(func=cmd_import)

    q = sub.add_parser("query", help="ask the served knowledge base one question")
    q.add_argument("text")
    q.add_argument("--language", default=None, help="conversation language (zh-Hans, zh-Hant, en)")
    q.add_argument("--out-dir", help="output directory (default var/kb)")
    q.set_defaults(func=cmd_query)

    e = sub.add_parser("eval", help="accuracy and out-of-scope detection on labelled queries (JSON)")
    e.add_argument("--train", help="CSV (text,label) or JSONL; builds a temporary KB, one entry per label")
    e.add_argument("--test", required=True, help="CSV or JSONL; labels oos / NO_NODES_DETECTED / empty = out-of-scope")
    e.add_argument("--encoder", help="override the configured encoder id")
    e.add_argument("--sources", help="FAQ source directory (project KB mode)")
    e.add_argument("--out-dir", help="output directory (project KB mode)")
    e.set_defaults(func=cmd_eval)

    u = sub.add_parser("unanswered", help="unanswered and low-confidence questions, grouped by similarity")
    u.add_argument("--json", action="store_true")
    u.add_argument(
        "--db-url", default=None, help="SQLAlchemy URL (default $KEFU_APP_DB_URL or sqlite:///var/kefu_app.db)"
    )
    u.add_argument("--days", type=int, default=None, help="only the last N days")
    u.add_argument("--limit", type=int, default=50)
    u.add_argument("--similarity", type=float, default=None, help="cosine to join a group (default from config)")
    u.set_defaults(func=cmd_unanswered)

    n = sub.add_parser("nlu-export", help="write the KB's phrasings as ask_faq examples for Rasa (bot/data/nlu)")
    n.add_argument("--sources", help="FAQ source directory")
    n.add_argument("--nlu-dir", default=str(PROJECT_NLU), help="Rasa NLU data directory (default bot/data/nlu)")
    n.add_argument("--per-entry", type=int, default=3, help="phrasings per entry and language")
    n.add_argument("--check", action="store_true", help="exit 1 when the files are out of date; write nothing")
    n.set_defaults(func=cmd_nlu_export)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s %(message)s"
    )
    from knowledge_base.building.importer import ImportError_
    from knowledge_base.building.source import ValidationError
    from knowledge_base.learning.evaluation import DataError
    from knowledge_base.serving.encoders import EncoderError
    from knowledge_base.serving.runtime import KnowledgeBaseUnavailable

    try:
        return int(args.func(args))
    except (ValidationError, ConfigError, EncoderError, DataError, ImportError_, KnowledgeBaseUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())


__all__: List[str] = ["main"]
