"""Quality checks for the NLU training data under ``bot/data/nlu/`` and the jieba shop dictionary.

Every file in ``bot/data/nlu/`` is read with PyYAML, so examples written by any
capability are checked together: an example must not sit under two intents,
whichever files they come from. Files named ``<name>.<language>.yml`` must be
written in that language and script, as told by :func:`kernel.language.detect`.

The checks are pure functions returning a list of problems; the tests at the
bottom run them on deliberately broken data to show that they can fail.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import pytest
import yaml

from kernel.language import ENGLISH, SIMPLIFIED, TRADITIONAL, detect, normalise

ROOT = Path(__file__).resolve().parents[2]
NLU_DIR = ROOT / "bot" / "data" / "nlu"
#: The tokenizer loads every file in this directory (config.yml: dictionary_path).
SHOP_TERMS = ROOT / "bot" / "nlu" / "dictionary" / "shop_terms.txt"

LANGUAGES: Tuple[str, ...] = (SIMPLIFIED, TRADITIONAL, ENGLISH)
REQUIRED_INTENTS: Mapping[str, Tuple[str, ...]] = {
    "core": ("greet", "goodbye", "thanks", "affirm", "deny", "bot_challenge", "out_of_scope"),
    "handoff": ("human_handoff", "complain", "presales_quote"),
}
MIN_EXAMPLES_PER_INTENT = 30
#: Share of a language file's examples that must carry that language's signal.
#: The rest may carry no signal (emoji, "ok", Chinese common to both scripts),
#: but none may point to another language.
MIN_SCRIPT_SHARE = 0.6
#: Detected languages tolerated in a file, besides the file's own language.
NEUTRAL_DETECTIONS: Mapping[str, frozenset] = {
    SIMPLIFIED: frozenset({"zh", None}),
    TRADITIONAL: frozenset({"zh", None}),
    ENGLISH: frozenset({None}),
}
MIN_SHOP_TERMS = 150
REQUIRED_SHOP_TERMS: Tuple[str, ...] = (
    "转人工",
    "退换货",
    "七天无理由",
    "发票",
    "优惠券",
    "到店自提",
    "保价",
    "以旧换新",
    "顺丰",
    "京东物流",
    "次日达",
    "积分",
    "会员",
    "客服",
    "物流单号",
    "运费险",
)
_FILE_LANGUAGE = re.compile(r"\.(zh-Hans|zh-Hant|en)\.ya?ml$")
_EDGE_PUNCTUATION = "!?.,~～。！？，、…:;：；'\" "


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    path: str


@dataclass(frozen=True)
class NluFile:
    path: Path
    language: Optional[str]
    examples: Tuple[Example, ...]


# ---------------------------------------------------------------- parsing


_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


def plain_text(example: str) -> str:
    """The customer's text of an example, without Rasa entity markup: ``[KF…](order_id)`` -> ``KF…``."""
    return _ANNOTATION.sub(r"\1", example)


def parse_examples(block: str) -> List[str]:
    """The examples of a Rasa ``examples: |`` block, one per ``- `` line, entity markup removed."""
    examples = []
    for line in block.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("- "):
            raise ValueError(f"example line does not start with '- ': {line!r}")
        text = stripped[2:].strip()
        if not text:
            raise ValueError("empty example")
        examples.append(plain_text(text))
    return examples


def parse_nlu_document(document: object, path: str) -> List[Example]:
    """Intent examples of one parsed Rasa NLU YAML document; raises on a malformed one."""
    if not isinstance(document, dict):
        raise ValueError(f"{path}: top level is not a mapping")
    if str(document.get("version")) != "3.1":
        raise ValueError(f'{path}: version must be "3.1", got {document.get("version")!r}')
    items = document.get("nlu")
    if not isinstance(items, list):
        raise ValueError(f"{path}: 'nlu' is not a list")
    examples: List[Example] = []
    for item in items:
        if not isinstance(item, dict):
            raise ValueError(f"{path}: nlu item is not a mapping: {item!r}")
        if "intent" not in item:
            continue  # synonym, regex or lookup entries
        block = item.get("examples")
        if not isinstance(block, str):
            raise ValueError(f"{path}: intent {item['intent']!r} has no examples block")
        examples.extend(Example(text, str(item["intent"]), path) for text in parse_examples(block))
    return examples


def file_language(path: Path) -> Optional[str]:
    match = _FILE_LANGUAGE.search(path.name)
    return match.group(1) if match else None


def load_nlu_files(directory: Path = NLU_DIR) -> List[NluFile]:
    files = []
    for path in sorted([*directory.rglob("*.yml"), *directory.rglob("*.yaml")]):
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
        rel = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
        files.append(NluFile(path, file_language(path), tuple(parse_nlu_document(document, rel))))
    return files


# ---------------------------------------------------------------- checks


def comparison_key(text: str) -> str:
    """Same key for texts a classifier cannot tell apart: script, width, case, spacing, edge punctuation."""
    text = normalise(unicodedata.normalize("NFC", text))
    text = " ".join(text.split())
    return text.strip(_EDGE_PUNCTUATION)


def count_problems(examples: Sequence[Example], intents: Iterable[str], minimum: int) -> List[str]:
    per_intent: Dict[str, set] = defaultdict(set)
    for example in examples:
        per_intent[example.intent].add(example.text)
    return [
        f"{intent}: {len(per_intent.get(intent, ()))} examples, need {minimum}"
        for intent in intents
        if len(per_intent.get(intent, ())) < minimum
    ]


def duplicate_problems(examples: Sequence[Example]) -> List[str]:
    seen: Dict[Tuple[str, str], str] = {}
    problems = []
    for example in examples:
        key = (example.intent, example.text)
        if key in seen:
            problems.append(f"{example.intent}: {example.text!r} twice ({seen[key]}, {example.path})")
        else:
            seen[key] = example.path
    return problems


def conflict_problems(examples: Sequence[Example]) -> List[str]:
    intents_by_key: Dict[str, Dict[str, Example]] = defaultdict(dict)
    for example in examples:
        intents_by_key[comparison_key(example.text)].setdefault(example.intent, example)
    problems = []
    for key, by_intent in sorted(intents_by_key.items()):
        if len(by_intent) > 1:
            where = ", ".join(f"{e.intent} ({e.path}: {e.text!r})" for e in by_intent.values())
            problems.append(f"{key!r} is under several intents: {where}")
    return problems


def script_problems(examples: Sequence[Example], language: str, min_share: float) -> List[str]:
    if not examples:
        return []
    allowed = NEUTRAL_DETECTIONS[language]
    problems = []
    matching = 0
    for example in examples:
        detected = detect(example.text).language
        if detected == language:
            matching += 1
        elif detected not in allowed:
            problems.append(f"{example.intent}: {example.text!r} detects as {detected}, file is {language}")
    share = matching / len(examples)
    if share < min_share:
        problems.append(f"only {share:.0%} of examples detect as {language}, need {min_share:.0%}")
    return problems


def shop_term_problems(lines: Sequence[str], minimum: int, required: Iterable[str]) -> List[str]:
    problems = []
    words: Dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isalpha():
            problems.append(f"line {number}: expected 'word freq pos', got {line!r}")
            continue
        word = parts[0]
        if word in words:
            problems.append(f"line {number}: {word!r} already on line {words[word]}")
        words[word] = number
        if normalise(word) != word:
            problems.append(f"line {number}: {word!r} is not normalised (Simplified, half-width, lower case)")
        if detect(word).language == TRADITIONAL:
            problems.append(f"line {number}: {word!r} is Traditional")
    if len(words) < minimum:
        problems.append(f"{len(words)} terms, need {minimum}")
    problems.extend(f"missing term {term!r}" for term in required if term not in words)
    return problems


# ---------------------------------------------------------------- tests on the real data


@pytest.fixture(scope="module")
def nlu_files() -> List[NluFile]:
    return load_nlu_files()


@pytest.fixture(scope="module")
def all_examples(nlu_files: List[NluFile]) -> List[Example]:
    return [example for nlu_file in nlu_files for example in nlu_file.examples]


REQUIRED_FILES = [(group, language) for group in REQUIRED_INTENTS for language in LANGUAGES]


@pytest.mark.parametrize(("group", "language"), REQUIRED_FILES)
def test_required_intents_have_enough_examples(group: str, language: str) -> None:
    path = NLU_DIR / f"{group}.{language}.yml"
    assert path.is_file(), f"missing {path}"
    with open(path, encoding="utf-8") as handle:
        examples = parse_nlu_document(yaml.safe_load(handle), str(path))
    assert count_problems(examples, REQUIRED_INTENTS[group], MIN_EXAMPLES_PER_INTENT) == []


def test_nlu_directory_is_not_empty(nlu_files: List[NluFile]) -> None:
    assert len(nlu_files) >= len(REQUIRED_FILES)
    assert all(nlu_file.examples for nlu_file in nlu_files if nlu_file.language)


def test_no_duplicate_examples_within_an_intent(all_examples: List[Example]) -> None:
    assert duplicate_problems(all_examples) == []


def test_no_example_under_two_intents(all_examples: List[Example]) -> None:
    assert conflict_problems(all_examples) == []


def test_language_files_are_in_their_language(nlu_files: List[NluFile]) -> None:
    problems = {}
    for nlu_file in nlu_files:
        if nlu_file.language is None:
            continue
        found = script_problems(nlu_file.examples, nlu_file.language, MIN_SCRIPT_SHARE)
        if found:
            problems[nlu_file.path.name] = found
    assert problems == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_required_intent_carries_its_script(nlu_files: List[NluFile], language: str) -> None:
    """Per intent too, most examples carry the file's script, so no intent is learnt from one script only."""
    by_intent: Dict[str, List[Example]] = defaultdict(list)
    for nlu_file in nlu_files:
        if nlu_file.language == language and nlu_file.path.name.split(".")[0] in REQUIRED_INTENTS:
            for example in nlu_file.examples:
                by_intent[example.intent].append(example)
    problems = {
        intent: found for intent, examples in by_intent.items() if (found := script_problems(examples, language, 0.5))
    }
    assert problems == {}


def test_shop_terms_dictionary() -> None:
    lines = SHOP_TERMS.read_text(encoding="utf-8").splitlines()
    assert shop_term_problems(lines, MIN_SHOP_TERMS, REQUIRED_SHOP_TERMS) == []


def test_shop_terms_load_into_jieba() -> None:
    jieba = pytest.importorskip("jieba")
    tokenizer = jieba.Tokenizer()
    tokenizer.load_userdict(str(SHOP_TERMS))
    assert "七天无理由" in tokenizer.lcut("支持七天无理由吗")
    assert "转人工" in tokenizer.lcut("帮我转人工")


# ---------------------------------------------------------------- the checks catch bad data


def _examples(*rows: Tuple[str, str]) -> List[Example]:
    return [Example(text, intent, "synthetic.yml") for intent, text in rows]


def test_checks_catch_too_few_examples() -> None:
    examples = _examples(*[("greet", f"你好{i}") for i in range(29)])
    assert count_problems(examples, ("greet", "goodbye"), 30) == [
        "greet: 29 examples, need 30",
        "goodbye: 0 examples, need 30",
    ]


def test_checks_catch_duplicates_and_conflicts() -> None:
    examples = _examples(("greet", "你好"), ("greet", "你好"), ("affirm", "好的"), ("thanks", "好的！"))
    assert len(duplicate_problems(examples)) == 1
    conflicts = conflict_problems(examples)
    assert len(conflicts) == 1 and "affirm" in conflicts[0] and "thanks" in conflicts[0]
    # Traditional and Simplified spellings of one text are the same example to the model.
    assert conflict_problems(_examples(("greet", "請問在嗎"), ("deny", "请问在吗")))


def test_checks_catch_wrong_script() -> None:
    traditional_in_simplified = _examples(("greet", "你好"), ("greet", "請問有人在嗎"), ("greet", "在吗"))
    assert any("detects as zh-Hant" in p for p in script_problems(traditional_in_simplified, SIMPLIFIED, 0.3))
    english_in_traditional = _examples(("greet", "hello there"), ("greet", "哈囉"))
    assert any("detects as en" in p for p in script_problems(english_in_traditional, TRADITIONAL, 0.3))
    no_signal = _examples(("affirm", "好的"), ("affirm", "可以"), ("affirm", "對"))
    assert script_problems(no_signal, TRADITIONAL, 0.6) == ["only 33% of examples detect as zh-Hant, need 60%"]


def test_checks_catch_malformed_files() -> None:
    with pytest.raises(ValueError):
        parse_nlu_document({"version": "2.0", "nlu": []}, "old.yml")
    with pytest.raises(ValueError):
        parse_nlu_document({"version": "3.1", "nlu": [{"intent": "greet"}]}, "no_examples.yml")
    with pytest.raises(ValueError):
        parse_examples("- 你好\n在吗\n")
    assert [
        e.text
        for e in parse_nlu_document(
            yaml.safe_load('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - 你好\n    - hi 👋\n'),
            "ok.yml",
        )
    ] == ["你好", "hi 👋"]


def test_checks_catch_bad_shop_terms() -> None:
    lines = ["转人工 20 n", "轉人工 20 n", "转人工 20 n", "发票 n", "VIP 10 n"]
    problems = shop_term_problems(lines, 3, ("转人工", "运费险"))
    assert any("Traditional" in p or "not normalised" in p for p in problems if "轉人工" in p)
    assert any("already on line 1" in p for p in problems)
    assert any("expected 'word freq pos'" in p for p in problems)
    assert any("'VIP' is not normalised" in p for p in problems)
    assert "missing term '运费险'" in problems
