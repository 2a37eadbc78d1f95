"""A channel that refuses delivery (WeChat's 48-hour window, an unfollowed account): the agent's action
succeeds, the message is stored flagged undelivered, and the API says ``delivered: false`` with the reason.

The Rasa stand-in answers like Rasa's HTTP API does when Kefu's WeChat output channel raises
``DeliveryRefused``: 500, Rasa's ErrorResponse JSON, ``kefu_undeliverable:<errcode>`` in its message.
"""

from __future__ import annotations

import asyncio
from urllib.parse import unquote

import pytest

from kernel.rasa_client import DeliveryRefused, RasaClient, RasaUnavailable, refusal_in
from tests.console.process import Console, FakeRasa


def test_marker_parsing() -> None:
    body = ('{"version":"3.6.20","status":"failure","message":"An unexpected error occurred. Error: '
            'kefu_undeliverable:45015 wechat refused delivery: out of the 48-hour window","reason":"ConversationError",'
            '"details":{"kefu_undeliverable":"45015","event_saved":true},"help":null,"code":500}')
    refused = refusal_in(body)
    assert refused is not None and refused.errcode == "45015" and refused.event_saved
    assert "48 hours" in refused.reason and refused.to_json()["delivered"] is False
    plain = refusal_in('{"message": "An unexpected error occurred. Error: kefu_undeliverable:43004 x", "details": {}}')
    assert plain is not None and plain.errcode == "43004" and not plain.event_saved and "unfollowed" in plain.reason
    assert refusal_in('{"message": "An unexpected error occurred. Error: boom"}') is None
    assert refusal_in("kefu_undeliverable:99999").reason.endswith("(errcode 99999)")


def test_client_raises_delivery_refused_only_for_the_marker(fake_rasa: FakeRasa) -> None:
    async def run() -> None:
        client = RasaClient(fake_rasa.url, "t")
        try:
            fake_rasa.refuse = "45015"
            with pytest.raises(DeliveryRefused) as caught:
                await client.append_events("wechat:o1", [{"event": "bot", "text": "hi"}], "wechat")
            assert caught.value.errcode == "45015"
            await client.append_events("wechat:o1", [{"event": "resume"}], "wechat", execute_side_effects=False)
            fake_rasa.refuse, fake_rasa.fail = None, True
            with pytest.raises(RasaUnavailable):
                await client.append_events("wechat:o1", [{"event": "bot", "text": "hi"}], "wechat")
        finally:
            await client.close()

    asyncio.run(run())
    assert fake_rasa.calls[-1]["query"]["execute_side_effects"] == ["false"]


@pytest.mark.parametrize("saves", [False, True], ids=["plain-rasa-drops-events", "kefu-rasa-saves-events"])
def test_reply_and_close_succeed_when_delivery_is_refused(console: Console, fake_rasa: FakeRasa, saves: bool) -> None:
    sender = f"wechat:o-refused-{int(saves)}"
    ticket_id = console.handoff(sender, channel="wechat")["ticket_id"]
    wang = console.login("wang")
    assert wang.post(f"/api/tickets/{ticket_id}/claim", json={}).json()["delivered"] is True
    fake_rasa.refuse, fake_rasa.refuse_saves = "45015", saves
    answer = wang.post(f"/api/tickets/{ticket_id}/messages", json={"text": "您好，补发已安排"})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["delivered"] is False and body["delivery"]["errcode"] == "45015"
    assert "48 hours" in body["delivery"]["reason"]
    assert body["message"]["delivered"] is False and body["message"]["text"] == "您好，补发已安排"
    # stored, flagged, and shown so in the ticket
    stored = [m for m in console.ticket(ticket_id)["messages"] if m["author"] == "agent"]
    assert [m["text"] for m in stored] == ["您好，补发已安排"]
    assert stored[0]["delivered"] is False and stored[0]["delivery"]["errcode"] == "45015"
    # closing still closes (the rating prompt is not delivered either); the conversation is resumed in Rasa
    closed = wang.post(f"/api/tickets/{ticket_id}/close", json={"resolution": "resolved"})
    assert closed.status_code == 200, closed.text
    assert closed.json()["state"] == "closed" and closed.json()["delivered"] is False
    calls = [c for c in fake_rasa.calls if unquote(c["path"]).endswith(f"/{sender}/tracker/events")]
    replays = [c for c in calls if c["query"]["execute_side_effects"] == ["false"]]
    if saves:
        assert replays == []  # Rasa kept the events itself
    else:
        assert len(replays) == 1, [c["path"] for c in fake_rasa.calls]
        assert [e["event"] for e in replays[0]["events"]] == ["resume", "slot", "action"]
    # delivery works again: the next reply says delivered
    fake_rasa.refuse = None
    again = wang.post(f"/api/tickets/{console.handoff(sender + 'x', channel='wechat')['ticket_id']}/claim", json={})
    assert again.json()["delivered"] is True
