"""Helpers of the lead tests: a handoff context carrying a presales lead, a console configured for leads, and the
webhook receiver process (tests/console/webhook_receiver.py) with what it recorded."""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

from tests.console.process import ALWAYS_STAFFED, ROOT, context
from tests.harness import Command, HttpReady, ServerProcess, environ_without, free_port

SECRET = "lead-webhook-test-secret"
#: A second presales team and routing rules (merged into console/config.yml by tests.console.process.config_file).
ROUTED = ALWAYS_STAFFED + """
teams:
  - {id: presales, name: {zh-Hans: 售前, zh-Hant: 售前, en: Presales}}
  - {id: presales_south, name: {zh-Hans: 华南售前, zh-Hant: 華南售前, en: Presales South}}
  - {id: after_sales, name: {zh-Hans: 售后, zh-Hant: 售後, en: After-sales}}
  - {id: complaints, name: {zh-Hans: 投诉, zh-Hant: 投訴, en: Complaints}}
presales:
  routing:
    - {region: 华南, team: presales_south}
    - {product_line: cups_bottles, team: presales}
"""


def fast_webhook(attempts: int) -> str:
    """A config whose webhook retries quickly (a test waits seconds, not hours)."""
    return ALWAYS_STAFFED + f"""
presales:
  routing: []
  webhook: {{max_attempts: {attempts}, backoff_seconds: [0.2, 0.5], timeout_seconds: 5, lease_seconds: 30,
             poll_seconds: 0.2}}
"""


def lead(**fields: Any) -> Dict[str, Any]:
    body: Dict[str, Any] = {
        "lead_id": uuid.uuid4().hex, "type": "quote", "product": "保温杯 500ml", "product_id": "P-CUP-500",
        "sku": "CUP-500-BLK", "product_line": "cups_bottles", "quantity": 200, "customisation": "杯身印公司 logo",
        "cities": ["深圳", "广州"], "region": "华东", "needed_by": "2027-03-01", "company": "深圳市某某科技有限公司",
        "contact_name": "陈先生", "phone": "13800001234", "email": "chen@example.com", "wechat": "",
        "priority": "hot", "unit_price_cents": 8900, "value_cents": 1780000, "stock_available": 1200,
        "stock_note": "现货 1200 个", "skipped": ["wechat"], "notes": ["我们要两百来个", "印 logo"],
        "language": "zh-Hans",
    }
    body.update(fields)
    return body


def presales_context(sender_id: str, lead_fields: Optional[Dict[str, Any]] = None, **fields: Any) -> Dict[str, Any]:
    body = context(sender_id, reason="presales", category="presales", trigger="intent:presales",
                   summary="询价：保温杯 200 个", sentiment={"score": 0.2, "label": "neutral"},
                   lead=lead(**(lead_fields or {})))
    body.update(fields)
    return body


def verify(secret: str, headers: Dict[str, str], body: str) -> bool:
    """The receiver's check (as docs/presales.md shows it)."""
    timestamp = headers["x-kefu-timestamp"]
    expected = "sha256=" + hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["x-kefu-signature"])


@dataclass
class Receiver:
    port: int
    record: Path
    process: Optional[ServerProcess] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/leads"

    @classmethod
    def create(cls, workdir: Path) -> Receiver:
        workdir.mkdir(parents=True, exist_ok=True)
        return cls(free_port(), workdir / f"deliveries-{uuid.uuid4().hex[:6]}.jsonl")

    def start(self, fail_first: int = 0) -> Receiver:
        argv = [sys.executable, str(ROOT / "tests/console/webhook_receiver.py"), str(self.port), str(self.record),
                "--fail-first", str(fail_first)]
        command = Command("webhook", argv, environ_without(),
                          HttpReady(f"http://127.0.0.1:{self.port}/health", below=300), cwd=ROOT)
        self.process = ServerProcess.start(command, self.record.with_suffix(".log"))
        self.process.wait_ready(30)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(grace=5)

    def requests(self) -> List[Dict[str, Any]]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text(encoding="utf-8").splitlines() if line.strip()]

    def delivered(self) -> List[Dict[str, Any]]:
        """The accepted deliveries, each with its parsed body."""
        return [{**r, "event": json.loads(r["body"])} for r in self.requests() if r["ok"]]
