"""The normalising jieba tokenizer: one set of features for both Chinese scripts."""

from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.tokenizer import NormalisingJiebaTokenizer

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env


@pytest.fixture()
def tokenizer(tmp_path):
    config = {**NormalisingJiebaTokenizer.get_default_config(), "dictionary_path": "bot/nlu/dictionary"}
    return NormalisingJiebaTokenizer.create(
        config, LocalModelStorage(tmp_path), Resource("tokenizer"), ExecutionContext(None)
    )


def words(tokenizer, text):
    return [t.text for t in tokenizer.tokenize(Message({TEXT: text}), TEXT)]


def test_traditional_and_simplified_give_the_same_tokens(tokenizer):
    assert words(tokenizer, "請問怎麼開發票") == words(tokenizer, "请问怎么开发票")


def test_offsets_point_into_the_original_text(tokenizer):
    text = "ＫＦ訂單到哪了 please"
    tokens = tokenizer.tokenize(Message({TEXT: text}), TEXT)
    for token in tokens:
        original = text[token.start : token.end]
        assert len(original) == len(token.text)
    assert [t.text for t in tokens][-1] == "please"


def test_full_width_and_case_are_folded_and_spaces_dropped(tokenizer):
    assert words(tokenizer, "ＨＥＬＬＯ　ｗｏｒｌｄ") == ["hello", "world"]


def test_shop_terms_from_the_custom_dictionary_stay_whole(tokenizer):
    assert "七天无理由退货" in words(tokenizer, "可以七天无理由退货吗")
    # ... also when the customer writes Traditional: the dictionary is matched after normalisation.
    assert "到店自提" in words(tokenizer, "可以到店自提嗎")


@pytest.mark.parametrize("text", ["", "   ", "👍👍", "<script>alert(1)</script>", "x" * 10000])
def test_hostile_and_empty_text_tokenizes_without_error(tokenizer, text):
    tokens = tokenizer.tokenize(Message({TEXT: text}), TEXT)
    assert all(t.text.strip() for t in tokens)
