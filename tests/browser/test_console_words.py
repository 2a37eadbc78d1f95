"""Issue 27 #4: the agent reads words, never codes, in headless Debian Chromium against the real console.

The transcript shows what the shopper saw (a tapped button's title, not its ``/inform{...}``
payload), and the context panel shows slot names and values, the channel, the language, the
tier and the ticket history as words in the agent's UI language; the confirm dialog speaks that
language too.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Dict, Iterator

import pytest

from tests.browser.console_helpers import chromium_missing_reason, login, new_page, open_ticket
from tests.console.process import Console, FakeRasa, context

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(chromium_missing_reason() is not None, reason=chromium_missing_reason() or "")]

CITY_PAYLOAD = '/inform{"city":"上海"}'
COLOUR_PAYLOAD = '/inform{"variant":"P001-BK"}'


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    rasa = FakeRasa()
    console = Console.create(tmp_path_factory.mktemp("console-words"), rasa.url).start()
    yield console
    console.stop()
    rasa.close()


def _ticket(console: Console) -> int:
    now = time.time()
    body: Dict[str, Any] = context(
        f"words-{uuid.uuid4().hex[:8]}", channel="socketio", language="zh-Hans",
        customer={"id": "C0001", "name": "王*", "tier": "gold", "verified": True},
        transcript=[
            {"author": "customer", "event": "user", "text": "P001 有货吗", "timestamp": now - 60,
             "intent": "stock_check", "confidence": 0.9},
            {"author": "bot", "event": "bot", "text": "您要哪一款？", "timestamp": now - 59,
             "data": {"buttons": [{"title": "黑色", "payload": COLOUR_PAYLOAD},
                                  {"title": "蓝色", "payload": '/inform{"variant":"P001-BL"}'}]}},
            {"author": "customer", "event": "user", "text": COLOUR_PAYLOAD, "timestamp": now - 50, "intent": "inform"},
            {"author": "bot", "event": "bot", "text": "您在哪个城市？", "timestamp": now - 49,
             "data": {"buttons": [{"title": "上海", "payload": CITY_PAYLOAD},
                                  {"title": "北京", "payload": '/inform{"city":"北京"}'}]}},
            {"author": "customer", "event": "user", "text": CITY_PAYLOAD, "timestamp": now - 40, "intent": "inform"},
            {"author": "customer", "event": "user", "text": "我要投诉", "timestamp": now - 20, "intent": "complain"},
        ],
        slots={"stock_city": "shanghai", "stock_variant": "black", "language": "zh-Hans"},
        faq_candidates=[{"id": "returns-policy", "score": 0.61,
                         "titles": {"zh-Hans": "怎么退货？", "zh-Hant": "怎麼退貨？", "en": "How do I return an item?"}}],
    )
    response = console.internal("/internal/handoffs", body)
    assert response.status_code in (200, 201), response.text
    return int(response.json()["ticket_id"])


@pytest.mark.parametrize("lang,words,codes", [
    ("zh-Hans", ["上海", "黑色", "城市", "网页聊天", "简体中文", "金卡会员", "转人工", "机器人", "怎么退货？"],
     ["shanghai", "socketio", "zh-Hans", "gold", "stock_city", "escalate", "returns-policy"]),
    ("en", ["Shanghai", "black", "City", "Web chat", "Simplified Chinese", "Gold", "handed over", "the bot",
                "How do I return an item?"],
     ["shanghai", "socketio", "zh-Hans", "stock_city", "escalate", "returns-policy"]),
])
def test_transcript_and_context_show_words_not_codes(ui: Console, browser: Any, lang: str, words: list,
                                                     codes: list) -> None:
    ticket = _ticket(ui)
    page = new_page(browser)
    try:
        login(page, ui.url, "wang", lang=lang)
        open_ticket(page, ticket)
        texts = page.locator("#transcript .msg-customer .msg-text").all_inner_texts()
        assert "黑色" in texts and "上海" in texts, f"the transcript shows payloads, not what the shopper saw: {texts}"
        assert not any(t.startswith("/inform") for t in texts), texts
        panel = page.locator("#context").inner_text()
        for word in words:
            assert word in panel, f"{word!r} missing from the context panel:\n{panel}"
        for code in codes:
            assert code not in panel, f"the code {code!r} is shown to the agent:\n{panel}"
        dialog = page.locator("#confirm-dialog .dialog-actions").evaluate("n => n.textContent")
        assert "/" not in dialog and ("取消" in dialog if lang == "zh-Hans" else "Cancel" in dialog), dialog
        assert not page.kefu_errors, page.kefu_errors
    finally:
        page.context.close()
