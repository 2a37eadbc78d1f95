"""The conversation test set (tests/data/conversations, issue 25) and its judge, without a stack.

The set must be big enough and honest: at least 150 multi-turn dialogues in the three scripts, every category
present, no customer turn copied from the NLU training data or the knowledge base's questions, every ``faq:`` a
real entry. The judge (tests/conversations.py) must tell a right reply from an honest refusal and from a wrong one.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from kernel.i18n import text
from kernel.language import ENGLISH, SIMPLIFIED, TRADITIONAL, detect
from tests.conversations import (
    CATEGORIES,
    PASS,
    UNRESOLVED,
    WRONG,
    SetError,
    Turn,
    entry_ids,
    judge,
    load_set,
)
from tests.knowledge_base.test_heldout_set import comparison_key, language_consistent, load_knowledge_base

ROOT = Path(__file__).resolve().parents[1]
NLU_DIR = ROOT / "bot" / "data" / "nlu"
#: "5678", "好的", "yes please": too short to be anybody's wording
MIN_KEY_CHARS = 6
_ANNOTATION = re.compile(r"\[([^\]]+)\]\s*(?:\([^)]*\)|\{[^}]*\})")
#: a bare value is nobody's wording: an order number, a city
_VALUE = re.compile(r"^(?:kf\d{11}|shanghai|beijing|shenzhen|guangzhou|hangzhou)$")


@pytest.fixture(scope="module")
def dialogues():
    return load_set()


def nlu_keys() -> Dict[str, str]:
    keys: Dict[str, str] = {}
    for path in sorted(NLU_DIR.glob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            for line in str(block.get("examples") or "").splitlines():
                example = _ANNOTATION.sub(r"\1", line.strip().lstrip("- ").strip())
                if example:
                    keys.setdefault(comparison_key(example), path.name)
    return keys


def test_the_set_is_big_enough_and_covers_every_category(dialogues) -> None:
    multi = [d for d in dialogues if len(d.turns) >= 2]
    assert len(multi) >= 150, f"{len(multi)} multi-turn dialogues"
    by_language = Counter(d.language for d in multi)
    for language in (SIMPLIFIED, TRADITIONAL, ENGLISH):
        assert by_language[language] >= 40, by_language
    assert set(CATEGORIES) <= {d.category for d in dialogues}
    scopes = Counter(d.scope for d in dialogues)
    assert scopes["oos"] >= 15 and scopes["person"] >= 15, scopes
    assert any(d.hours == "closed" for d in dialogues)


def test_no_customer_turn_copies_training_data(dialogues) -> None:
    nlu, kb = nlu_keys(), load_knowledge_base().question_keys
    copies: List[str] = []
    for d in dialogues:
        for turn in d.turns:
            key = comparison_key(turn.say)
            if len(key) >= MIN_KEY_CHARS and not _VALUE.match(key) and (key in nlu or key in kb):
                copies.append(f"{d.id}: {turn.say}")  # never the training phrasing itself
    assert not copies, "customer turns equal to an NLU example or a knowledge-base question:\n" + "\n".join(copies)


def test_every_faq_check_names_an_entry(dialogues) -> None:
    known = set(entry_ids())
    missing = [f"{d.id}: {t.expect['faq']}" for d in dialogues for t in d.turns
               if "faq" in t.expect and t.expect["faq"] not in known]
    assert not missing, missing


def test_customer_turns_are_in_the_file_language(dialogues) -> None:
    off = [f"{d.id}: {t.say}" for d in dialogues for t in d.turns
           if not language_consistent(d.language, detect(t.say).language)]
    turns = sum(len(d.turns) for d in dialogues)
    assert len(off) <= turns // 20, f"{len(off)} of {turns} turns read as another language:\n" + "\n".join(off)


# -- the format is enforced ----------------------------------------------------------------------------------------
def _write(tmp_path: Path, rows) -> Path:
    (tmp_path / f"{SIMPLIFIED}.yml").write_text(yaml.safe_dump(rows, allow_unicode=True), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("rows, problem", [
    ([{"id": "a", "category": "followup", "turns": [{"say": "在吗"}]}], "at least one check"),
    ([{"id": "a", "category": "followup", "turns": [{"say": "在吗", "expect": {"maybe": 1}}]}], "unknown check"),
    ([{"id": "a", "category": "gossip", "turns": [{"say": "在吗", "expect": {"reply": True}}]}], "category"),
    ([{"id": "a", "category": "followup", "turns": [{"say": "在吗", "expect": {"reply": True}}]}] * 2, "duplicate"),
    ([{"id": "a", "category": "followup", "turns": [{"say": "", "expect": {"reply": True}}]}], "non-empty"),
])
def test_a_broken_set_is_refused(tmp_path: Path, rows, problem: str) -> None:
    with pytest.raises(SetError, match=problem):
        load_set(_write(tmp_path, rows))


# -- the judge -----------------------------------------------------------------------------------------------------
def test_the_judge_passes_a_right_answer_and_clicks_nothing() -> None:
    answer = "我们的退货政策是：" + _answer("returns.seven_day_no_reason")
    assert judge(Turn("能退吗", {"faq": "returns.seven_day_no_reason"}), [answer], SIMPLIFIED, False, False) \
        == (PASS, [])


def test_an_honest_refusal_is_unresolved_not_wrong() -> None:
    refusal = text("msg_faq_no_answer", SIMPLIFIED)
    verdict, failed = judge(Turn("能退吗", {"faq": "returns.seven_day_no_reason"}), [refusal], SIMPLIFIED, False,
                            False)
    assert verdict == UNRESOLVED and failed == ["faq:returns.seven_day_no_reason"]


@pytest.mark.parametrize("expect, replies, opened, failed", [
    ({"faq": "returns.seven_day_no_reason"}, ["您想查哪款商品的库存？"], False, ["faq:returns.seven_day_no_reason"]),
    ({"any": ["11月"]}, ["批量采购由我们的销售顾问负责"], False, ["any"]),
    ({"reply": True}, [], False, ["reply"]),
    ({"none": ["评分"]}, ["请回复 1 到 5 之间的数字为本次服务评分"], False, ["none:评分"]),
    ({"reply": True}, ["很抱歉给您带来不便"], True, ["unasked ticket"]),
    ({"lang": ENGLISH}, ["好的，这就为您查询"], False, [f"lang:{SIMPLIFIED}"]),
])
def test_wrong_replies_are_wrong(expect, replies, opened: bool, failed) -> None:
    assert judge(Turn("x", expect), replies, SIMPLIFIED, opened, False) == (WRONG, failed)


def test_a_decline_that_starts_a_form_is_not_a_decline() -> None:
    refusal = text("utter_out_of_scope", ENGLISH)
    assert judge(Turn("write me a poem", {"decline": True}), [refusal], ENGLISH, False, False) == (PASS, [])
    assert judge(Turn("write me a poem", {"decline": True}), [refusal], ENGLISH, False, True)[1] == ["decline"]


@pytest.mark.parametrize("language", [SIMPLIFIED, ENGLISH])
def test_the_customers_words_quoted_back_are_no_answer(language: str) -> None:
    """"至于「北京能不能送」，我没有准确的答案" names 北京 only because it quotes the customer: an honest refusal of that
    question, not the answer the set expects."""
    said = "当日达收多少钱，几点前要下单，北京能不能送" if language == SIMPLIFIED else "and can you deliver to beijing"
    part = "北京能不能送" if language == SIMPLIFIED else "can you deliver to beijing"
    refusal = text("msg_faq_part_no_answer", language, question=part)
    verdict, failed = judge(Turn(said, {"all": ["北京" if language == SIMPLIFIED else "beijing"]}), ["…", refusal],
                            language, False, False)
    assert verdict == UNRESOLVED and failed == ["all"]
    # a quotation of something the customer did not say still counts
    assert judge(Turn("哪里有门店", {"any": ["北京"]}), ["门店在「北京朝阳」"], SIMPLIFIED, False, False) == (PASS, [])


def test_a_handoff_expected_is_a_ticket_opened() -> None:
    assert judge(Turn("转人工", {"handoff": True}), ["好的"], SIMPLIFIED, True, True) == (PASS, [])
    assert judge(Turn("转人工", {"handoff": True}), ["好的"], SIMPLIFIED, False, False) == (WRONG, ["handoff"])


def _answer(entry_id: str) -> str:
    from tests.conversations import _answers

    return _answers()[entry_id][SIMPLIFIED]

