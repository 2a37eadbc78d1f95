"""Jieba tokenisation of normalised text, for Simplified, Traditional and English.

Text is normalised first with :func:`kernel.language.normalise` (full-width to
half-width, Traditional to Simplified, lower case). Normalisation keeps every
character's position, so token offsets refer to the customer's original text
while the token strings are the normalised ones: "請問發票" and "请问发票"
produce the same features, and one set of training data serves both scripts.
"""

from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

from kernel.language import normalise


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True
)
class NormalisingJiebaTokenizer(JiebaTokenizer):
    """:class:`JiebaTokenizer` over normalised text, without whitespace tokens."""

    @staticmethod
    def supported_languages() -> None:
        return None

    def tokenize(self, message: Message, attribute: str) -> List[Token]:
        import jieba

        text = message.get(attribute) or ""
        normalised = normalise(text)
        tokens = [
            Token(word, start)
            for word, start, _end in jieba.tokenize(normalised)
            if word.strip()
        ]
        return self._apply_token_pattern(tokens)
