"""Bot texts: every response in three languages, generated domain in sync."""

from __future__ import annotations

import re
import textwrap

import pytest
import yaml

from kernel import i18n
from kernel.language import detect


def test_generated_domain_responses_are_in_sync():
    assert i18n.main(["check"]) == 0, "bot/domain/responses.yml is stale: run `make domain`"


def without_placeholders(text: str) -> str:
    return re.sub(r"\{[a-z_0-9]+\}", "", text)


def test_every_message_exists_in_all_three_languages_and_scripts():
    catalog = i18n.load_catalog()
    assert catalog
    for key, entry in catalog.items():
        texts = {lang: [without_placeholders(t) for t in ts] for lang, ts in entry["texts"].items()}
        assert set(texts) == {"zh-Hans", "zh-Hant", "en"}, key
        for t in texts["zh-Hant"]:
            assert detect(t).language in ("zh-Hant", "zh", None), f"{key}: zh-Hant text is not Traditional: {t}"
        for t in texts["zh-Hans"]:
            assert detect(t).language in ("zh-Hans", "zh", None), f"{key}: zh-Hans text is not Simplified: {t}"
        for t in texts["en"]:
            assert detect(t).language in ("en", None), f"{key}: en text is not English: {t}"


def test_domain_variations_are_conditioned_on_the_language_slot():
    responses = yaml.safe_load(i18n.DOMAIN_RESPONSES.read_text())["responses"]
    greet = responses["utter_greet"]
    conditions = [v.get("condition", [{}])[0].get("value") for v in greet]
    assert {"zh-Hans", "zh-Hant", "en"} <= set(conditions)
    assert any("condition" not in v for v in greet), "a default variation must exist"


def test_traditional_is_generated_when_not_written(tmp_path):
    (tmp_path / "x.yml").write_text(
        textwrap.dedent(
            """
            msg_x:
              zh-Hans: "请问发票怎么开？"
              en: "How do I get an invoice?"
              buttons:
                - payload: /human_handoff
                  title: {zh-Hans: "转人工", en: "Agent"}
            """
        ),
        encoding="utf-8",
    )
    catalog = i18n.load_catalog(tmp_path)
    assert catalog["msg_x"]["texts"]["zh-Hant"] == ["請問發票怎麼開？"]
    assert catalog["msg_x"]["buttons"][0]["title"]["zh-Hant"] == "轉人工"


@pytest.mark.parametrize(
    "source, message",
    [
        ("msg: {en: hi}", "missing the zh-Hans text"),
        ("msg: {zh-Hans: 你好, en: hi, fr: salut}", "unknown field"),
        ("msg: {zh-Hans: 你好, en: hi, buttons: [{title: x}]}", "payload and a title"),
        ("msg: {zh-Hans: [], en: hi}", "non-empty list"),
    ],
)
def test_malformed_sources_fail_with_a_clear_message(tmp_path, source, message):
    (tmp_path / "bad.yml").write_text(source, encoding="utf-8")
    with pytest.raises(i18n.CatalogError, match=message):
        i18n.load_catalog(tmp_path)


def test_duplicate_keys_across_files_are_rejected(tmp_path):
    (tmp_path / "a.yml").write_text("msg: {zh-Hans: 你好, en: hi}", encoding="utf-8")
    (tmp_path / "b.yml").write_text("msg: {zh-Hans: 你好, en: hi}", encoding="utf-8")
    with pytest.raises(i18n.CatalogError, match="already defined"):
        i18n.load_catalog(tmp_path)


def test_text_fills_placeholders_and_falls_back_to_simplified():
    assert "小客" in i18n.text("utter_greet", None)
    assert i18n.text("utter_greet", "en").startswith("Hi")
