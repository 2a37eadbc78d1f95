"""Two ``kb_tune.py`` result files side by side: the target metric per tuning split, and which of the two the
build's own cross-fitted calibration would have preferred.

The target metric is ranking top-1 for Banking77 (``in_scope_top1_no_threshold``) and overall accuracy for
HINT3. The calibration's objective is the one its threshold search maximises,
``(1 - oos_weight) * in-scope accuracy + oos_weight * out-of-scope recall`` on the training questions' folds,
read from each result's ``calibration`` report. A per-knowledge-base choice between two settings by
calibration is only worth building if that preference agrees with the test queries.

Usage::

    python3 benchmarks/kb_tune_compare.py docs/results/kb/kb_tune_fold_steps.json docs/results/kb/kb_tune_bge.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Dict, Sequence


def target(result: Dict) -> float:
    return result["overall_accuracy"] if result.get("oos_recall") is not None else result["in_scope_top1_no_threshold"]


def calibration_objective(result: Dict, oos_weight: float) -> float:
    report = result["calibration"]
    return (1 - oos_weight) * report["in_scope_accuracy"] + oos_weight * report["oos_recall"]


def compare(a: Dict[str, Dict], b: Dict[str, Dict], oos_weight: float) -> Dict[str, Dict]:
    rows = {}
    for name in a.keys() & b.keys():
        ta, tb = target(a[name]), target(b[name])
        ca, cb = calibration_objective(a[name], oos_weight), calibration_objective(b[name], oos_weight)
        better = "tie" if ta == tb else ("a" if ta > tb else "b")
        rows[name] = {
            "target_a": round(100 * ta, 2),
            "target_b": round(100 * tb, 2),
            "calibration_a": round(ca, 4),
            "calibration_b": round(cb, 4),
            "test_prefers": better,
            "calibration_prefers": "a" if ca > cb else "b",
        }
    return dict(sorted(rows.items()))


def _results(path: Path) -> Dict[str, Dict]:
    """The ``results`` of a kb_tune.py output file; a clear error for anything else."""
    try:
        results = json.loads(path.read_text(encoding="utf-8"))["results"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SystemExit(f"{path}: not a kb_tune.py result file ({exc.__class__.__name__}: {exc})") from None
    missing = sorted(name for name, r in results.items() if "calibration" not in r)
    if missing:
        raise SystemExit(f"{path}: no calibration report for {missing} (written by kb_tune.py before it had one?)")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="kb_tune.py output of setting a")
    parser.add_argument("b", type=Path, help="kb_tune.py output of setting b")
    parser.add_argument("--oos-weight", type=float, default=0.3, help="calibration.oos_weight of both runs")
    args = parser.parse_args(argv)
    a, b = _results(args.a), _results(args.b)
    rows = compare(a, b, args.oos_weight)
    if not rows:
        raise SystemExit(f"{args.a} and {args.b} have no tuning split in common")
    for name, row in rows.items():
        print(name, json.dumps(row))
    decided = [r for r in rows.values() if r["test_prefers"] != "tie"]
    agree = sum(r["test_prefers"] == r["calibration_prefers"] for r in decided)
    only = sorted(a.keys() ^ b.keys())
    print(
        json.dumps(
            {
                "splits": len(rows),
                "not_tied": len(decided),
                "calibration_agrees_with_test": agree,
                "in_one_file_only": only,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
