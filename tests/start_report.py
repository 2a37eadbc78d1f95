"""Sums up the servers' start-up times a test run recorded (``KEFU_TEST_START_LOG``, tests/harness.py):
how many servers of each kind started, how long they took, and which test modules started the most.

    KEFU_TEST_START_LOG=var/test-starts.jsonl .venv/bin/python -m pytest tests/e2e
    .venv/bin/python -m tests.start_report var/test-starts.jsonl
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, List


def report(path: Path) -> str:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    by_kind: Dict[str, List[float]] = defaultdict(list)
    by_module: Dict[str, List[float]] = defaultdict(list)
    for line in lines:
        kind = line["name"].split("-")[0] if line["name"].startswith(("rasa-", "actions-")) else line["name"]
        by_kind[kind].append(line["seconds"])
        by_module[line["test"].split("::")[0] or "(outside a test)"].append(line["seconds"])
    out = [f"{len(lines)} servers started, {sum(sum(v) for v in by_kind.values()):.0f} s from spawn to ready in all",
           "", "kind            starts  total s  mean s  max s"]
    for kind, seconds in sorted(by_kind.items(), key=lambda kv: -sum(kv[1])):
        out.append(f"{kind:15} {len(seconds):6} {sum(seconds):8.0f} {sum(seconds) / len(seconds):7.1f} {max(seconds):6.1f}")
    out += ["", "module (servers it started)                                  starts  rasa  slowest s"]
    for module, seconds in sorted(by_module.items(), key=lambda kv: -max(kv[1])):
        rasa = sum(1 for line in lines if (line["test"].split("::")[0] or "(outside a test)") == module
                   and line["name"].startswith("rasa"))
        out.append(f"{module[:60]:60} {len(seconds):6} {rasa:5} {max(seconds):10.1f}")
    return "\n".join(out)


if __name__ == "__main__":
    print(report(Path(sys.argv[1] if len(sys.argv) > 1 else "var/test-starts.jsonl")))
