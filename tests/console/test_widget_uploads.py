"""Photos and files from the web widget (issue 27; console/widget/uploads.py, console/web/widget*.py): content
sniffing, limits, storage, delivery into the conversation through Rasa's API, the ticket's message with its
attachment (live and in a later handoff's transcript), serving to agents only, and erasure.

Against a real console process with the recording Rasa stand-in (tests/console/process.py)."""

from __future__ import annotations

import os
import stat
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

import httpx
import pytest

from console.web.widget import content_disposition
from console.widget.uploads import Sniffed, UploadSettings, safe_name, sniff
from kernel import session_ids
from kernel.handoff import event_key
from tests.console.process import Console, EventsTable, FakeRasa

SECRET = uuid.uuid4().hex
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 200 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
WEBP = b"RIFF\x20\x00\x00\x00WEBPVP8 " + b"\x00" * 40
GIF = b"GIF89a" + b"\x00" * 40
PDF = b"%PDF-1.7\n" + b"%" * 100
HTML = b"<html><script>alert(1)</script></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'


# -- pure ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data, mime", [(JPEG, "image/jpeg"), (PNG, "image/png"), (WEBP, "image/webp"),
                                        (GIF, "image/gif"), (PDF, "application/pdf")])
def test_accepted_types_are_recognised_by_their_first_bytes(data: bytes, mime: str) -> None:
    found = sniff(data)
    assert found is not None and found.mime == mime


@pytest.mark.parametrize("data", [HTML, SVG, b"MZ\x90\x00" + b"\x00" * 50, b"just text", b"RIFF\x00\x00\x00\x00WAVE",
                                  b"\xff\xd8", b""])
def test_anything_else_is_refused_whatever_its_name(data: bytes) -> None:
    assert sniff(data) is None


def test_shown_names_are_cleaned_and_carry_the_sniffed_extension() -> None:
    jpeg = Sniffed("image", "image/jpeg", "jpg")
    assert safe_name("破损 照片.JPG", jpeg) == "破损 照片.jpg"
    assert safe_name("../../etc/passwd", jpeg) == "passwd.jpg"
    assert safe_name("C:\\Users\\me\\photo.html", jpeg) == "photo.jpg"
    assert safe_name('a"<b>\x00\u202e.jpg', jpeg) == "ab.jpg"
    assert safe_name("", Sniffed("file", "application/pdf", "pdf")) == "document.pdf"
    assert len(safe_name("x" * 500 + ".jpg", jpeg)) <= 100


def test_content_disposition_shows_photos_and_downloads_pdfs() -> None:
    assert content_disposition("image", "破损.jpg").startswith("inline; filename=\"__.jpg\"; filename*=UTF-8''")
    assert content_disposition("file", "发票.pdf").startswith("attachment;")


def test_upload_settings_refuse_malformed_values(tmp_path: Path) -> None:
    assert UploadSettings.from_env({}, root=tmp_path).directory == tmp_path / "var" / "uploads"
    assert UploadSettings.from_env({"KEFU_UPLOAD_MAX_BYTES": "2048"}, root=tmp_path).max_bytes == 2048
    for bad in ("abc", "0", "-5", "999999999999"):
        with pytest.raises(ValueError, match="KEFU_UPLOAD_MAX_BYTES"):
            UploadSettings.from_env({"KEFU_UPLOAD_MAX_BYTES": bad}, root=tmp_path)


# -- against the console ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory, rasa: FakeRasa) -> Iterator[Console]:
    extra = {"KEFU_SESSION_SECRET": SECRET, "KEFU_UPLOAD_MAX_BYTES": "4096",
             "KEFU_UPLOAD_MAX_PER_CONVERSATION": "3", "KEFU_UPLOAD_RATE_LIMIT": "4"}
    proc = Console.create(tmp_path_factory.mktemp("uploads") / "console", rasa.url, extra=extra).start()
    yield proc
    proc.stop()


@pytest.fixture()
def shopper() -> str:
    return session_ids.issue(SECRET)


@pytest.fixture(autouse=True)
def rasa_up(rasa: FakeRasa) -> Iterator[None]:
    rasa.fail = False
    yield
    rasa.fail = False


def upload(console: Console, session_id: Optional[str], data: bytes, name: str = "破损.jpg",
           client_id: Optional[str] = None, language: str = "zh-Hans") -> httpx.Response:
    form = {"client_id": client_id or f"u-{uuid.uuid4().hex}", "language": language}
    if session_id is not None:
        form["session_id"] = session_id
    return httpx.post(f"{console.url}/api/public/uploads", data=form, files={"file": (name, data, "image/jpeg")},
                      timeout=20)


def upload_dir(console: Console) -> Path:
    return Path(console.env["KEFU_VAR_DIR"]) / "uploads"


def user_events(rasa: FakeRasa, conversation: str) -> list:
    return [e for e in rasa.events_for(conversation) if e.get("event") == "user"]


def test_a_photo_is_stored_privately_and_put_into_the_conversation(console: Console, rasa: FakeRasa,
                                                                    shopper: str) -> None:
    response = upload(console, shopper, JPEG, name="../破损.html", client_id="u-first")
    assert response.status_code == 201, response.text
    assert response.headers["access-control-allow-origin"] == "*"
    body = response.json()
    attachment = body["attachment"]
    assert (attachment["kind"], attachment["mime"], attachment["name"], attachment["size"]) == \
        ("image", "image/jpeg", "破损.jpg", len(JPEG))
    assert body["text"] == "[图片] 破损.jpg" and body["delivered"] is True and body["duplicate"] is False
    # the user event the conversation keeps (Rasa's API, no bot turn): history, transcript and tail read it
    [event] = user_events(rasa, f"web:{shopper}")
    assert event["text"] == "[图片] 破损.jpg" and event["input_channel"] == "socketio"
    assert event["metadata"]["kefu_attachment"] == attachment and event["metadata"]["message_id"] == "u-first"
    [call] = [c for c in rasa.calls if c["events"] == [event]]
    assert call["query"]["execute_side_effects"] == ["false"]
    # the bytes: random name, no extension, mode 600, outside everything the console serves
    files = [p for p in upload_dir(console).iterdir()]
    stored = [p for p in files if p.read_bytes() == JPEG]
    assert len(stored) == 1 and "." not in stored[0].name and len(stored[0].name) == 32
    assert stat.S_IMODE(stored[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(upload_dir(console).stat().st_mode) == 0o700
    assert httpx.get(f"{console.url}/static/../uploads/{stored[0].name}").status_code == 404


def test_a_retry_or_a_duplicate_delivery_is_stored_once(console: Console, rasa: FakeRasa, shopper: str) -> None:
    first = upload(console, shopper, PNG, name="a.png", client_id="u-twice")
    again = upload(console, shopper, PNG, name="a.png", client_id="u-twice")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["duplicate"] is True and again.json()["attachment"] == first.json()["attachment"]
    assert len(user_events(rasa, f"web:{shopper}")) == 1
    other = upload(console, shopper, GIF, name="b.gif", client_id="u-twice")
    assert other.status_code == 409 and other.json()["error"] == "client_id_reused"


@pytest.mark.parametrize("data, name, status, code", [
    (HTML, "photo.jpg", 415, "unsupported_type"),
    (SVG, "photo.svg", 415, "unsupported_type"),
    (b"", "photo.jpg", 400, "empty_file"),
    (JPEG + b"\x00" * 5000, "big.jpg", 413, "too_large"),
])
def test_bad_files_get_a_clear_error_and_nothing_is_kept(console: Console, rasa: FakeRasa, shopper: str,
                                                         data: bytes, name: str, status: int, code: str) -> None:
    before = sorted(p.name for p in upload_dir(console).iterdir()) if upload_dir(console).exists() else []
    response = upload(console, shopper, data, name=name)
    assert response.status_code == status, response.text
    assert response.json()["error"] == code and response.json()["message"]
    assert response.headers["access-control-allow-origin"] == "*"  # the widget can read the reason
    assert user_events(rasa, f"web:{shopper}") == []
    after = sorted(p.name for p in upload_dir(console).iterdir()) if upload_dir(console).exists() else []
    assert after == before


def test_a_request_larger_than_any_upload_is_refused_readably(console: Console, shopper: str) -> None:
    response = upload(console, shopper, JPEG + b"\x00" * 200_000)
    assert response.status_code == 413
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.json()["error"] == "too_large"


@pytest.mark.parametrize("session_id", [None, "", "not-a-session-id-at-all", session_ids.issue("another secret")])
def test_only_the_conversations_own_session_can_upload(console: Console, session_id: Optional[str]) -> None:
    response = upload(console, session_id, JPEG)
    assert response.status_code in (400, 403)
    assert response.json()["error"] in ("invalid_session", "bad_request")


def test_rasa_down_keeps_the_file_and_the_retry_delivers_it(console: Console, rasa: FakeRasa, shopper: str) -> None:
    rasa.fail = True
    down = upload(console, shopper, JPEG, client_id="u-down")
    assert down.status_code == 502
    assert down.json()["error"] == "rasa_unavailable" and down.json()["delivered"] is False
    assert down.headers["access-control-allow-origin"] == "*"
    rasa.fail = False
    retry = upload(console, shopper, JPEG, client_id="u-down")
    assert retry.status_code == 200 and retry.json()["delivered"] is True
    assert retry.json()["attachment"] == down.json()["attachment"]
    assert len(user_events(rasa, f"web:{shopper}")) == 1
    again = upload(console, shopper, JPEG, client_id="u-down")
    assert again.status_code == 200 and len(user_events(rasa, f"web:{shopper}")) == 1  # delivered once


def test_count_and_rate_limits_per_conversation(console: Console, shopper: str) -> None:
    for n in range(3):
        assert upload(console, shopper, JPEG + bytes([n])).status_code == 201
    full = upload(console, shopper, PNG)
    assert full.status_code == 409 and full.json()["error"] == "too_many_files"
    limited = upload(console, shopper, GIF)
    assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
    assert upload(console, session_ids.issue(SECRET), JPEG).status_code == 201  # another conversation is not held


def test_the_shopper_gets_their_own_file_back_and_nobody_elses(console: Console, shopper: str) -> None:
    attachment = upload(console, shopper, JPEG).json()["attachment"]
    own = httpx.get(f"{console.url}/api/public/uploads/{attachment['id']}", params={"session_id": shopper})
    assert own.status_code == 200 and own.content == JPEG
    assert own.headers["content-type"] == "image/jpeg" and own.headers["x-content-type-options"] == "nosniff"
    other = httpx.get(f"{console.url}/api/public/uploads/{attachment['id']}",
                      params={"session_id": session_ids.issue(SECRET)})
    assert other.status_code == 404


def ticket_messages(console: Console, ticket_id: int) -> list:
    return console.ticket(ticket_id)["messages"]


def test_agents_see_the_photo_in_the_ticket_live_and_through_an_authenticated_route(
        console: Console, rasa: FakeRasa, shopper: str) -> None:
    conversation = f"web:{shopper}"
    ticket = console.handoff(conversation, channel="socketio")
    body = upload(console, shopper, JPEG, client_id="u-live").json()
    [event] = user_events(rasa, conversation)
    # the broker's copy of the appended event reaches the console's tail
    EventsTable(Path(console.env["KEFU_EVENTS_DB"])).emit(conversation, {**event, "sender_id": conversation})
    found = console.wait_for(lambda: [m for m in ticket_messages(console, ticket["ticket_id"])
                                      if (m.get("data") or {}).get("attachment")])
    assert found and found[0]["text"] == "[图片] 破损.jpg" and found[0]["author"] == "customer"
    assert found[0]["data"]["attachment"] == body["attachment"]

    url = f"/api/attachments/{body['attachment']['id']}"
    assert httpx.get(f"{console.url}{url}").status_code == 401
    served = console.login("wang").get(url)  # complaints is wang's team
    assert served.status_code == 200 and served.content == JPEG
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-disposition"].startswith("inline;")
    assert "sandbox" in served.headers["content-security-policy"]
    assert "no-store" in served.headers["cache-control"]
    assert served.headers["cross-origin-resource-policy"] == "same-origin"
    assert "access-control-allow-origin" not in served.headers  # agents' routes are not for other origins
    assert console.login("li").get(url).status_code == 403  # presales only
    assert console.login("admin").get(url).status_code == 200
    assert console.login("admin").get("/api/attachments/" + "0" * 32).status_code == 404
    extras = console.login("wang").get(f"/api/widget/tickets/{ticket['ticket_id']}").json()
    assert [a["id"] for a in extras["attachments"]] == [body["attachment"]["id"]]


def test_a_photo_sent_before_the_handoff_is_on_the_ticket_when_it_opens(console: Console, rasa: FakeRasa,
                                                                       shopper: str) -> None:
    conversation = f"web:{shopper}"
    body = upload(console, shopper, PNG, name="箱子.png", client_id="u-before").json()
    [event] = user_events(rasa, conversation)
    transcript = [{"author": "customer", "event": "user", "text": event["text"], "timestamp": event["timestamp"]},
                  {"author": "customer", "event": "user", "text": "我要投诉", "timestamp": time.time()}]
    ticket = console.handoff(conversation, channel="socketio", transcript=transcript)
    messages = ticket_messages(console, ticket["ticket_id"])
    [photo] = [m for m in messages if (m.get("data") or {}).get("attachment")]
    assert photo["text"] == "[图片] 箱子.png" and photo["data"]["attachment"]["id"] == body["attachment"]["id"]
    assert event_key(conversation, "user", event["timestamp"], event["text"])  # the identity both paths share


def test_erasing_a_conversation_removes_its_files(console: Console, shopper: str) -> None:
    body = upload(console, shopper, JPEG + b"erase-me", client_id="u-erase").json()
    stored = [p for p in upload_dir(console).iterdir() if p.read_bytes() == JPEG + b"erase-me"]
    assert len(stored) == 1
    admin = console.login("admin")
    exported = admin.post("/api/privacy/export", json={"conversation": f"web:{shopper}"}).json()
    assert [a["id"] for a in exported["console"]["attachments"]] == [body["attachment"]["id"]]
    dry = admin.post("/api/privacy/erase", json={"conversation": f"web:{shopper}", "dry_run": True}).json()
    assert dry["rows"]["console"]["console_attachments"] == 1 and stored[0].exists()
    erased = admin.post("/api/privacy/erase", json={"conversation": f"web:{shopper}"}).json()
    assert erased["rows"]["console"]["console_attachments"] == 1
    assert not stored[0].exists()
    gone = httpx.get(f"{console.url}/api/public/uploads/{body['attachment']['id']}", params={"session_id": shopper})
    assert gone.status_code == 404


def test_the_widget_config_names_limits_and_suggestions(console: Console) -> None:
    response = httpx.get(f"{console.url}/api/public/widget/config", params={"lang": "en"})
    assert response.status_code == 200 and response.headers["access-control-allow-origin"] == "*"
    body: Dict[str, Any] = response.json()
    assert body["uploads"]["max_bytes"] == 4096
    assert "image/jpeg" in body["uploads"]["accept"] and "application/pdf" in body["uploads"]["accept"]
    assert isinstance(body["suggestions"], list)


def test_no_upload_folder_is_served(console: Console) -> None:
    assert not str(upload_dir(console)).startswith(str(Path(os.getcwd()) / "console" / "static"))


# -- contact left off hours, replies not seen yet, CSAT comments ------------------------------------------------
def post_json(console: Console, path: str, body: Dict[str, Any]) -> httpx.Response:
    """As the widget sends it: JSON as text/plain (a simple request, no preflight)."""
    import json

    return httpx.post(f"{console.url}{path}", content=json.dumps(body).encode(), timeout=20,
                      headers={"Content-Type": "text/plain;charset=UTF-8"})


@pytest.mark.parametrize("fields, field", [
    ({"phone": "12345"}, "phone"), ({"phone": "23812345678"}, "phone"), ({"wechat": "1abcdef"}, "wechat"),
    ({"wechat": "abc"}, "wechat"), ({"email": "not-an-address"}, "email"), ({"email": "a@b"}, "email"),
    ({}, "phone"), ({"phone": 13812345678}, "phone"),
])
def test_a_bad_contact_is_refused_with_the_field_named(console: Console, shopper: str, fields: Dict[str, Any],
                                                       field: str) -> None:
    response = post_json(console, "/api/public/contact", {"session_id": shopper, **fields})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_contact" and response.json()["field"] == field
    assert response.headers["access-control-allow-origin"] == "*"


def test_the_contact_is_on_the_ticket_masked_except_for_its_agent(console: Console, shopper: str) -> None:
    conversation = f"web:{shopper}"
    ticket = console.handoff(conversation, channel="socketio")
    forged = post_json(console, "/api/public/contact", {"session_id": session_ids.issue("x" * 32), "phone": "13812345678"})
    assert forged.status_code == 403
    saved = post_json(console, "/api/public/contact", {"session_id": shopper, "phone": "+86 138-1234-5678",
                                                       "wechat": "kefu_fan01", "email": "Zhang.San@Example.com"})
    assert saved.status_code == 200, saved.text
    assert saved.json()["contact"] == {"phone": "138****5678", "wechat": "ke***01", "email": "z***@example.com"}
    assert saved.json()["ticket_id"] == ticket["ticket_id"]
    path = f"/api/widget/tickets/{ticket['ticket_id']}"
    masked = console.login("admin").get(path).json()["contact"]
    assert (masked["phone"], masked["wechat"], masked["email"], masked["masked"]) == \
        ("138****5678", "ke***01", "z***@example.com", True)
    assert console.login("li").get(path).status_code == 403  # another team's ticket
    console.login("wang").post(f"/api/tickets/{ticket['ticket_id']}/claim", json={})
    whole = console.login("wang").get(path).json()["contact"]
    assert (whole["phone"], whole["wechat"], whole["email"], whole["masked"]) == \
        ("13812345678", "kefu_fan01", "zhang.san@example.com", False)
    assert console.login("admin").get(path).json()["contact"]["masked"] is True  # not the ticket's agent
    ticket_json = console.ticket(ticket["ticket_id"])
    assert "13812345678" not in str(ticket_json)  # the ticket API itself never carries it


def test_replies_the_shopper_has_not_seen_are_counted_until_the_widget_opens(console: Console, shopper: str) -> None:
    conversation = f"web:{shopper}"
    ticket = console.handoff(conversation, channel="socketio")
    notices = f"{console.url}/api/public/notices"
    assert httpx.get(notices, params={"session_id": shopper}).json()["unread"] == 0
    wang = console.login("wang")
    wang.post(f"/api/tickets/{ticket['ticket_id']}/claim", json={})
    assert wang.post(f"/api/tickets/{ticket['ticket_id']}/messages", json={"text": "您好，我是小王"}).status_code == 201
    body = httpx.get(notices, params={"session_id": shopper}).json()
    assert body["unread"] == 1 and body["agent"] == "小王"
    extras = wang.get(f"/api/widget/tickets/{ticket['ticket_id']}").json()["reply_notice"]
    assert (extras["replies"], extras["unseen"], extras["seen_at"]) == (1, 1, None)
    assert post_json(console, "/api/public/notices/seen", {"session_id": shopper}).status_code == 200
    assert httpx.get(notices, params={"session_id": shopper}).json()["unread"] == 0
    extras = wang.get(f"/api/widget/tickets/{ticket['ticket_id']}").json()["reply_notice"]
    assert extras["unseen"] == 0 and extras["seen_at"] is not None
    assert httpx.get(notices, params={"session_id": "forged-session-id-0000"}).status_code == 403


def test_a_csat_comment_is_stored_with_the_rating_and_shown(console: Console, shopper: str) -> None:
    conversation = f"web:{shopper}"
    ticket = console.handoff(conversation, channel="socketio")
    comment = {"session_id": shopper, "client_id": "c-1", "rating": 2, "kind": "agent",
               "comment": "等太久了，电话 13812345678"}
    assert post_json(console, "/api/public/csat-comment", comment).status_code == 404  # nothing closed yet
    admin = console.login("admin")
    admin.post(f"/api/tickets/{ticket['ticket_id']}/claim", json={})
    admin.post(f"/api/tickets/{ticket['ticket_id']}/close", json={"resolution": "resolved"})
    for bad, code in (({"rating": 6}, "bad_request"), ({"comment": "   "}, "empty_comment"),
                      ({"comment": "x" * 1001}, "comment_too_long"), ({"client_id": "bad id!"}, "bad_request")):
        response = post_json(console, "/api/public/csat-comment", {**comment, **bad})
        assert response.status_code == 400 and response.json()["error"] == code
    first = post_json(console, "/api/public/csat-comment", comment)
    again = post_json(console, "/api/public/csat-comment", comment)
    assert first.status_code == 200 and first.json()["ticket_id"] == ticket["ticket_id"]
    assert again.json()["duplicate"] is True and again.json()["id"] == first.json()["id"]
    extras = admin.get(f"/api/widget/tickets/{ticket['ticket_id']}").json()
    assert [(c["rating"], c["comment"]) for c in extras["csat_comments"]] == [(2, "等太久了，电话 13812345678")]
    listed = admin.get("/api/widget/csat-comments", params={"days": 1}).json()["comments"]
    mine = [c for c in listed if c["ticket_id"] == ticket["ticket_id"]]
    assert mine and "13812345678" not in mine[0]["comment"] and mine[0]["rating"] == 2  # masked on the dashboard
    assert console.login("wang").get("/api/widget/csat-comments").status_code == 403
    bot = post_json(console, "/api/public/csat-comment", {**comment, "client_id": "c-bot", "kind": "bot",
                                                          "rating": 5, "comment": "很方便"})
    assert bot.status_code == 200 and bot.json()["ticket_id"] is None


def test_the_history_shows_an_attachment_only_as_the_console_wrote_it() -> None:
    from console.public_history import history_messages

    good = {"id": "a" * 32, "kind": "image", "mime": "image/jpeg", "name": "破损.jpg", "size": 10}
    events = [
        {"event": "user", "text": "[图片] 破损.jpg", "timestamp": 1.0, "input_channel": "socketio",
         "metadata": {"message_id": "u-1", "kefu_attachment": good}},
        {"event": "user", "text": "[图片] x", "timestamp": 2.0, "input_channel": "socketio",
         "metadata": {"kefu_attachment": {"id": "../../etc/passwd", "kind": "image", "mime": "image/jpeg"}}},
        {"event": "user", "text": "[图片] y", "timestamp": 3.0, "input_channel": "socketio",
         "metadata": {"kefu_attachment": {"id": "b" * 32, "kind": "image", "mime": "text/html"}}},
    ]
    shown = [m.as_json() for m in history_messages(events)]
    assert shown[0]["attachment"] == good and shown[0]["message_id"] == "u-1"
    assert "attachment" not in shown[1] and "attachment" not in shown[2]
