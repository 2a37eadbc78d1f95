"""``action_answer_faq``: answer from the FAQ knowledge base, ask "did you mean…", or say there is no answer.

The decision itself lives in ``knowledge_base`` (pure scoring over a loaded index). This module turns
it into messages and slots:

- ``answered``: the entry's answer in the customer's language and script; a message with two or three questions
  ("几天能到？新疆发吗") gets one answer for each that the knowledge base answers with confidence, when there are
  at least two;
- ``clarify``: "did you mean…" with up to three buttons ``/faq_choose{"faq_id":"<id>"}`` and a
  "none of these" button to a person;
- ``no_answer``: an honest "I don't know" with a ``/human_handoff`` button.

Slots: ``faq_outcome`` (answered | clarify | no_answer) and ``faq_candidates`` (list of
``{"id", "score"}``) so a handoff can attach them. When the latest intent is ``faq_choose`` (or the
message carries a ``faq_id`` entity), the chosen entry is answered directly.

Every no-answer and clarify turn is recorded for the review list (``python -m knowledge_base
unanswered``); a database that is down is logged and never breaks the reply. An answer may offer 👍/👎
(``actions/feedback.py``: always in the widget, a sampled share on WeChat); a 👎 joins the same review list as
outcome ``downvoted`` (:func:`record_downvote`).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.escalation import asks_for_a_person
from actions.feedback import (
    OFFERS_SLOT,
    Offer,
    SettingsError,
    feedback_buttons,
    load_settings,
    offer_for,
    remember_offer,
)
from actions.metrics import record_faq_outcome
from actions.presales.signals import asks_for_a_quote
from actions.turns import turns
from kernel.i18n import buttons, text
from kernel.language import LANGUAGES, SIMPLIFIED, normalise, requested_language
from kernel.questions import looks_like_a_question
from knowledge_base.learning.unanswered import Record, UnansweredStore, mask
from knowledge_base.serving.matcher import MatchedEntry, MatchResult, clean_query, has_content, reply_language
from knowledge_base.serving.runtime import KnowledgeBase, KnowledgeBaseUnavailable, shared_knowledge_base
from knowledge_base.serving.scoring import ANSWER, CLARIFY, NO_ANSWER

log = logging.getLogger(__name__)

CHOOSE_INTENT = "faq_choose"
CHOICE_ENTITY = "faq_id"


@dataclass(frozen=True)
class Message:
    text: Optional[str] = None
    buttons: List[Dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class FaqReply:
    """What the action says and sets for one turn (built by pure functions, sent by the action)."""

    outcome: str
    language: str
    messages: List[Message]
    candidates: List[Dict[str, Any]]
    record: bool = False  # worth a row in the unanswered list


def choice_payload(entry_id: str) -> str:
    return "/" + CHOOSE_INTENT + json.dumps({CHOICE_ENTITY: entry_id}, separators=(",", ":"))


def reply_for(result: MatchResult) -> FaqReply:
    """Messages for a match result."""
    lang = result.language
    candidates = result.candidate_payload()
    if result.outcome == ANSWER and result.answer:
        return FaqReply(ANSWER, lang, [Message(result.answer)], candidates)
    if result.outcome == CLARIFY and result.candidates:
        options = [{"title": c.title[:80], "payload": choice_payload(c.id)} for c in result.candidates]
        return FaqReply(
            CLARIFY,
            lang,
            [
                Message(text("msg_faq_clarify", lang), options),
                Message(text("msg_faq_clarify_none", lang), buttons("msg_faq_clarify_none", lang)),
            ],
            candidates,
            record=True,
        )
    return FaqReply(
        NO_ANSWER,
        lang,
        [Message(text("msg_faq_no_answer", lang), buttons("msg_faq_no_answer", lang))],
        candidates,
        record=True,
    )


@dataclass(frozen=True)
class FollowUp:
    """What a message may follow up on: the customer's previous question and the entries answered to it."""

    question: str
    entries: Tuple[str, ...]


def follow_up_context(events: List[Dict[str, Any]]) -> Optional[FollowUp]:
    """The previous question when the bot answered it from the knowledge base (directly, or through a "did you
    mean" choice the customer tapped); after an order card, the order's status as the customer saw it ("待付款"
    then "要是一直沒付會怎樣？"); else None."""
    user_turns = turns(events)[:-1]  # the turns before the latest message
    entries: List[str] = []
    for turn in reversed(user_turns):
        answered = [e for e in turn[1:] if e.get("event") == "slot" and e.get("name") == "faq_outcome"]
        if not answered and not entries and requested_language(str(turn[0].get("text") or "")) is not None:
            continue  # "可以用中文講一次嗎？" repeated the answer before: a follow-up is about that one
        if (not entries and not _WORDS.search(str(turn[0].get("text") or ""))
                and not (answered and answered[-1].get("value") == ANSWER) and _order_status_shown(turn) is None):
            continue  # "666", "👍", "??" in between: no question of its own, the one before still stands
        if not answered or answered[-1].get("value") != ANSWER:
            status = _order_status_shown(turn) if not entries else None
            return FollowUp(status, ()) if status else None
        for event in turn[1:]:
            if event.get("event") == "slot" and event.get("name") == "faq_candidates":
                entries += [str(c.get("id")) for c in (event.get("value") or []) if isinstance(c, dict)]
        text_ = str(turn[0].get("text") or "")
        if not text_.startswith("/"):
            return FollowUp(text_[:MAX_CONTEXT_CHARS], tuple(dict.fromkeys(entries)))
    return None


def _order_status_shown(turn: List[Dict[str, Any]]) -> Optional[str]:
    """The status label of the order card shown in this turn ("退款处理中", "delivered"), if one was."""
    for event in reversed(turn[1:]):
        custom = (event.get("data") or {}).get("custom") if event.get("event") == "bot" else None
        card = custom.get("kefu_card") if isinstance(custom, dict) else None
        if isinstance(card, dict) and card.get("type") == "order_status" and isinstance(card.get("status_label"), str):
            return card["status_label"][:40]
    return None


#: a message with words in it (letters or Chinese characters), not only digits, emoji or punctuation
_WORDS = re.compile(r"[^\W\d_]")

#: how much of the previous question is read with a follow-up
MAX_CONTEXT_CHARS = 300
#: a follow-up read with the previous question is answered only when that answer ranks among these first of the
#: follow-up read alone: "可以改退到我的郵局帳戶嗎" after a credit-card refund answer must not get the credit-card
#: answer again
FOLLOW_UP_AGREEMENT = 5


def with_context(matcher: Any, query: str, previous: Optional[str], context: FollowUp) -> Optional[MatchResult]:
    """"海淀那家晚上几点关" after the Beijing stores' answer, "那關稅誰要付" after the Taiwan shipping one: matched with
    the previous question, when that gives a sure answer that the follow-up alone ranks high too."""
    combined = matcher.match(f"{context.question} {query}", previous)
    if combined.outcome != ANSWER or not combined.candidates:
        return None
    ranked, _ = matcher.rank(query)
    alone = [matcher.index.entries[c.entry].id for c in ranked[:FOLLOW_UP_AGREEMENT]]
    return combined if combined.candidates[0].id in alone else None


def detail_of_last_answer(matcher: Any, query: str, language: str, context: FollowUp) -> Optional[FaqReply]:
    """"我是用支付寶餘額付的" after the refund-timing answer: a detail of the customer's own case that one part of
    the last answer is about gets that part ("微信/支付寶餘額一般幾分鐘內入帳，最長1個工作日"), not the whole list
    again, nor a "did you mean" about payment methods. None when no single part of it is about the detail."""
    for entry in context.entries:
        answer = matcher.answer_text(entry, language)
        part = answer_part_about(answer or "", query)
        if part:
            return FaqReply(ANSWER, language, [Message(text("msg_faq_detail", language, part=part))],
                            [{"id": entry, "score": 1.0}])
    return None


#: where an answer splits into parts that each say one thing ("…幾分鐘內入帳；…銀行卡1–3個工作日；…")
_ANSWER_PARTS = re.compile(r"(?<=[；;。！？\n])|(?<=[.!?])\s+")
#: characters that say nothing of a case on their own ("我是用…付的"): a shared run of these is no detail
_FUNCTION_CHARS = set("我你您他她是的了用在吗呢吧啊呀个一有这那就都也还要会能可以付买过到和或与及后前时")
_ENGLISH_WORD = re.compile(r"[a-z][a-z'-]{2,}")
_ENGLISH_STOP = frozenset(
    "the and but for you your our with was were are did does has have had not can could would should will its "
    "this that these those then than what when where which who how why paid pay bought buy got get "
    "one all any some just only also very really like about from into onto after before".split()
)


def answer_part_about(answer: str, detail: str) -> Optional[str]:
    """The one part of ``answer`` that the customer's ``detail`` names: the part sharing the longest run of
    characters with it (Chinese, two or more, not only function characters such as 我是…的) or the most words
    (English, content words only). None when no part does, or two parts do equally: then the whole answer stands."""
    parts = [p.strip() for p in _ANSWER_PARTS.split(answer) if p.strip()]
    if len(parts) < 2:
        return None
    wanted = normalise(detail)
    words = set(_ENGLISH_WORD.findall(wanted)) - _ENGLISH_STOP
    scores = []
    for part in parts:
        plain = normalise(part)
        shared = _longest_shared_run(wanted, plain)
        cjk = len(shared) if len(shared) >= 2 and any(c not in _FUNCTION_CHARS for c in shared) else 0
        scores.append(max(cjk, 2 * len(words & set(_ENGLISH_WORD.findall(plain)))))
    best = max(scores)
    if best < 2 or scores.count(best) > 1:
        return None
    return parts[scores.index(best)].rstrip("；;。.").strip()


def _longest_shared_run(a: str, b: str) -> str:
    """The longest run of Chinese characters that ``a`` and ``b`` share."""
    best = ""
    for i in range(len(a)):
        if not _RUN_CHAR.match(a[i]):
            continue
        j = i + len(best) + 1
        while j <= len(a) and _RUN_CHAR.match(a[j - 1]) and a[i:j] in b:
            best = a[i:j]
            j += 1
    return best


_RUN_CHAR = re.compile(r"[\u4e00-\u9fff]")
#: a follow-up without an answer of its own is offered the best entry of the same topic as the last answer
#: ("可以改退到我的郵局帳戶嗎" after the credit-card refund answer: refunds.original_method) from this score
SAME_TOPIC_FLOOR = 0.3


def same_topic_choice(matcher: Any, reply: FaqReply, context: FollowUp) -> Optional[FaqReply]:
    """A follow-up the knowledge base has no answer for, whose best entry is of the topic just answered (the
    same category), is asked about it ("did you mean…") rather than told there is no answer: the conversation
    says what it is about. Never the entry just answered, never below :data:`SAME_TOPIC_FLOOR`."""
    if reply.outcome != NO_ANSWER or not context.entries or not reply.candidates:
        return None
    best_id, score = str(reply.candidates[0].get("id")), float(reply.candidates[0].get("score") or 0.0)
    topics = {getattr(matcher.entry(e), "category", None) for e in context.entries}
    record = matcher.entry(best_id)
    if best_id in context.entries or score < SAME_TOPIC_FLOOR or record is None or record.category not in topics:
        return None
    best = MatchedEntry(best_id, score, matcher.title(record, reply.language))
    return reply_for(MatchResult(CLARIFY, reply.language, None, (best,)))


def answer_turn(
    kb: KnowledgeBase, message_text: Optional[str], language_slot: Optional[str], chosen_id: Optional[str],
    context: Optional[FollowUp] = None,
) -> FaqReply:
    """Decide one FAQ turn. Never raises for any input text. ``context``: the question this one may follow up on."""
    reply = _answer_turn(kb, message_text, language_slot, chosen_id)
    if reply.outcome == ANSWER or context is None or chosen_id:
        return reply
    query = clean_query(message_text)
    if not has_content(query):
        return reply
    try:
        matcher = kb.matcher()
    except KnowledgeBaseUnavailable:
        return reply  # already the honest "unavailable" reply
    if not looks_like_a_question(query):  # "好 明天再说" follows up on nothing; "我是刷信用卡的" on a part of it
        return detail_of_last_answer(matcher, query, reply.language, context) or reply
    previous = language_slot if language_slot in LANGUAGES else None
    found = with_context(matcher, query, previous, context)
    if found is not None:
        return reply_for(replace(found, language=reply.language,
                                 answer=matcher.answer_text(found.candidates[0].id, reply.language)))
    return same_topic_choice(matcher, reply, context) or reply


def _answer_turn(
    kb: KnowledgeBase, message_text: Optional[str], language_slot: Optional[str], chosen_id: Optional[str]
) -> FaqReply:
    previous = language_slot if language_slot in LANGUAGES else None
    try:
        matcher = kb.matcher()
    except KnowledgeBaseUnavailable:
        lang = previous or SIMPLIFIED
        log.error("kb.unavailable")
        return FaqReply(
            NO_ANSWER, lang, [Message(text("msg_faq_unavailable", lang), buttons("msg_faq_unavailable", lang))], []
        )
    if chosen_id:
        lang = previous or SIMPLIFIED
        answer = matcher.answer_text(chosen_id, lang)
        if answer is None:
            return FaqReply(NO_ANSWER, lang, [Message(text("msg_faq_unknown_choice", lang))], [])
        return FaqReply(ANSWER, lang, [Message(answer)], [{"id": chosen_id, "score": 1.0}])
    query = clean_query(message_text)
    if not has_content(query):
        lang = reply_language(query, previous)
        return FaqReply(NO_ANSWER, lang, [Message(text("msg_faq_empty", lang))], [])
    whole = matcher.match(query, previous)
    parts = question_parts(query)
    if parts:
        results = [_match_part(matcher, part, previous, parts[0] if i else None) for i, part in enumerate(parts)]
        answers = distinct_answers(results)
        if len(answers) >= 2:  # "几天能到？新疆发吗": one answer each, in the order asked
            messages = [Message(r.answer) for r in answers]
            # a question of the three with no answer is said so, never dropped ("…，北京能不能送")
            messages += [Message(text("msg_faq_part_no_answer", whole.language, question=part[:MAX_PART_QUOTED]),
                                 buttons("msg_faq_part_no_answer", whole.language))
                         for part, r in zip(parts, results, strict=True)
                         if r.outcome == NO_ANSWER and looks_like_a_question(part)]
            return FaqReply(ANSWER, whole.language, messages, [r.candidate_payload()[0] for r in answers])
        if len(answers) == 1:
            answered = answers[0].candidates[0].id
            unsure = [r for r in results if r.outcome == CLARIFY and r.candidates and r.candidates[0].id != answered]
            if unsure:  # "寄新疆几天能到？花呗分6期要手续费吗": the sure answer, and choices for the other question
                other = reply_for(replace(unsure[0], language=whole.language))
                return FaqReply(ANSWER, whole.language, [Message(answers[0].answer), *other.messages],
                                [answers[0].candidate_payload()[0], *other.candidates])
            if whole.outcome != ANSWER:  # "你好！发票怎么开": the one question there is
                return reply_for(replace(answers[0], language=whole.language))
    return reply_for(whole)


def _match_part(matcher: Any, part: str, previous: Optional[str], first: Optional[str]) -> MatchResult:
    """One question of several; a later one is read with the first when that gives an answer it ranks high alone:
    "當日達要幾點前下單？運費多少錢？" asks the same-day fee, "收货地址填错了一个字 还能改吗" the address."""
    alone = matcher.match(part, previous)
    if first is None or not looks_like_a_question(part):
        return alone
    return with_context(matcher, part, previous, FollowUp(first[:MAX_CONTEXT_CHARS], ())) or alone


#: a message asks several questions when it splits here into 2-3 parts with words in each
_QUESTION_BREAK = re.compile(
    r"[？?！!。；;\n]+|[，,]?\s*(?:另外|还有|順便|顺便问一下|顺便问下|順便問一下|以及|and also)\s*|[，,]\s*|"
    r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])|"  # "能开公司抬头吗 有没有纸质发票": a space between two questions
    r"\s+and\s+(?=(?:how|what|when|where|who|which|can|could|do|does|is|are|will|would)\b)",  # "...and how long..."
    re.IGNORECASE,
)
MAX_QUESTIONS = 3
#: how much of a question without an answer is quoted back
MAX_PART_QUOTED = 40


def question_parts(query: str) -> List[str]:
    """The questions of a message that asks two or three ("几天能到？新疆发吗"); [] for one question or for a
    longer story, which is matched as a whole."""
    parts = [p.strip(" ,，、") for p in _QUESTION_BREAK.split(query)]
    parts = [p for p in parts if has_content(p) and len(p) >= 2]
    return parts if 2 <= len(parts) <= MAX_QUESTIONS else []


def distinct_answers(results: List[MatchResult]) -> List[MatchResult]:
    """The confident answers among ``results``, one per entry, in order."""
    seen: set = set()
    out: List[MatchResult] = []
    for result in results:
        if result.outcome != ANSWER or not result.answer or not result.candidates:
            continue
        if result.candidates[0].id not in seen:
            seen.add(result.candidates[0].id)
            out.append(result)
    return out


_STORE: Optional[UnansweredStore] = None
_STORE_LOCK = threading.Lock()


def _store(kb: KnowledgeBase) -> UnansweredStore:
    global _STORE
    with _STORE_LOCK:
        if _STORE is None or _STORE.url != kb.config.db_url():
            _STORE = UnansweredStore(kb.config.db_url())
        return _STORE


def record_unanswered(kb: KnowledgeBase, reply: FaqReply, message_text: str, conversation_id: Optional[str]) -> None:
    try:
        _store(kb).record(
            Record(
                text=clean_query(message_text),
                language=reply.language,
                outcome=reply.outcome,
                candidates=reply.candidates,
                conversation_id=conversation_id,
                kb_version=kb.served_version,
            )
        )
    except Exception:  # the review list must never cost the customer their answer
        log.exception(
            "kb.unanswered.record_failed conversation_id=%s text=%s", conversation_id, mask(message_text[:80])
        )


DOWNVOTED = "downvoted"


def record_downvote(kb: Optional[KnowledgeBase], question: str, language: str, entry_id: str, score: float,
                    conversation_id: Optional[str]) -> None:
    """A 👎 on an answer joins the review list: the question, the entry that answered it, outcome ``downvoted``."""
    kb = kb if kb is not None else shared_knowledge_base()
    try:
        _store(kb).record(
            Record(
                text=clean_query(question) or question,
                language=language,
                outcome=DOWNVOTED,
                candidates=[{"id": entry_id, "score": score}] if entry_id else [],
                conversation_id=conversation_id,
                kb_version=kb.served_version,
            )
        )
    except Exception:  # the review list must never break the conversation
        log.exception("kb.downvote.record_failed conversation_id=%s entry=%s", conversation_id, entry_id)


def chosen_entry(tracker: Tracker) -> Optional[str]:
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    value = next(tracker.get_latest_entity_values(CHOICE_ENTITY), None)
    if value is None and intent == CHOOSE_INTENT:
        # payload parsed without entities (e.g. a channel that sends the raw text)
        raw = tracker.latest_message.get("text") or ""
        start = raw.find("{")
        if start >= 0:
            try:
                value = json.loads(raw[start:]).get(CHOICE_ENTITY)
            except (ValueError, AttributeError):
                value = None
    return value if isinstance(value, str) and value else None


class ActionAnswerFaq(Action):
    def __init__(self, kb: Optional[KnowledgeBase] = None) -> None:
        self._kb = kb

    def name(self) -> str:
        return "action_answer_faq"

    def _knowledge_base(self) -> KnowledgeBase:
        return self._kb if self._kb is not None else shared_knowledge_base()

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        kb = self._knowledge_base()
        message_text = tracker.latest_message.get("text") or ""
        if asks_for_a_person(message_text):  # "我要投诉…" misread as a question still reaches a person
            return [FollowupAction("action_handoff")]
        if asks_for_a_quote(message_text):  # "Please quote 500 bottles" read as a question still reaches the desk
            return [FollowupAction("action_presales_route")]
        language_slot = tracker.get_slot("language")
        chosen = chosen_entry(tracker)
        try:
            reply = answer_turn(kb, message_text, language_slot, chosen, follow_up_context(tracker.events))
        except Exception:  # a bug or a broken index: an honest reply instead of a crashed turn
            log.exception("kb.answer_failed conversation_id=%s", tracker.sender_id)
            lang = language_slot if language_slot in LANGUAGES else SIMPLIFIED
            reply = FaqReply(
                NO_ANSWER, lang, [Message(text("msg_faq_unavailable", lang), buttons("msg_faq_unavailable", lang))], []
            )
        return self.send(dispatcher, tracker, reply, record=chosen is None)

    def send(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, reply: FaqReply, record: bool = True
    ) -> List[Dict[str, Any]]:
        """Say the reply, record it for review when it deserves it, and set the FAQ slots."""
        offer = self._feedback_offer(tracker, reply)
        for index, message in enumerate(reply.messages):
            extra = feedback_buttons(offer.offer, reply.language) if offer and index == len(reply.messages) - 1 else []
            dispatcher.utter_message(text=message.text, buttons=[*message.buttons, *extra] or None)
        if reply.record and record:
            record_unanswered(
                self._knowledge_base(), reply, tracker.latest_message.get("text") or "", tracker.sender_id
            )
        log.info(
            "kb.faq_turn conversation_id=%s outcome=%s language=%s top=%s",
            tracker.sender_id,
            reply.outcome,
            reply.language,
            reply.candidates[:1],
        )
        record_faq_outcome(reply.outcome, reply.language)
        events = [SlotSet("faq_outcome", reply.outcome), SlotSet("faq_candidates", reply.candidates)]
        if offer is not None:
            events.append(SlotSet(OFFERS_SLOT, remember_offer(tracker.get_slot(OFFERS_SLOT), offer)))
        return events

    def _feedback_offer(self, tracker: Tracker, reply: FaqReply) -> Optional[Offer]:
        """👍/👎 for a single answer, when the channel and the sample say so (actions/feedback.py)."""
        if reply.outcome != ANSWER or len(reply.messages) != 1 or not reply.candidates:
            return None
        try:
            settings = load_settings()
        except SettingsError as error:
            log.error("feedback.settings_invalid %s", error)
            return None
        top = reply.candidates[0]
        return offer_for(settings, tracker.get_latest_input_channel(), tracker.sender_id, tracker.events,
                         str(top.get("id") or ""), float(top.get("score") or 0.0), reply.language)
