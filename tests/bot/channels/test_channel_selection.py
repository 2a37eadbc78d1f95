"""KEFU_CHANNELS (bot/channels/selection.py): only the enabled channels reach Rasa, and an enabled
channel without its settings stops the server with a message naming every missing variable.

Runs in .venv (stdlib and PyYAML); tests/bot/channels/test_channel_selection_rasa.py loads the
selected file with Rasa itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest
import yaml

from bot.channels import selection

ROOT = Path(__file__).resolve().parents[3]
CREDENTIALS = (ROOT / "credentials.yml").read_text(encoding="utf-8")
WEB_ONLY_ENV: Dict[str, str] = {"KEFU_CHANNELS": "webchat,rest"}
WECHAT_ENV = {
    "WECHAT_TOKEN": "t0k3nWeChatAbcdef12",
    "WECHAT_APPID": "wx1234567890abcdef",
    "WECHAT_APPSECRET": "s3cretWeChatAbcdef1234",
}
WXKF_ENV = {
    "WXKF_CORP_ID": "ww1234567890abcdef",
    "WXKF_SECRET": "kfSecretAbcdef0123456789",
    "WXKF_TOKEN": "kfTokenAbcdef012345",
    "WXKF_AES_KEY": "A" * 20 + "bcdefghijklmnopqrstuvwx",
    "WXKF_OPEN_KFIDS": "wkAbc123",
}


def _entries(text: str) -> Dict[str, object]:
    return yaml.safe_load(text) or {}


# -- the list --------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "  ", " , ,"])
def test_unset_or_blank_means_every_channel_of_the_file(value: str) -> None:
    env = {} if value is None else {"KEFU_CHANNELS": value}
    assert selection.requested(env) is None
    assert selection.prepare(["run", "--credentials", "credentials.yml"], env, ROOT) == [
        "run",
        "--credentials",
        "credentials.yml",
    ]


def test_names_are_read_loosely_and_kept_in_one_order() -> None:
    env = {"KEFU_CHANNELS": " WeChat_KF , webchat,wxkf,REST,socketio "}
    assert selection.requested(env) == ["webchat", "rest", "wechat_kf"]


@pytest.mark.parametrize("value", ["webchat,telegram", "webchat,we chat", "web\x00chat", "x" * 10_000])
def test_an_unknown_name_stops_with_the_known_ones(value: str) -> None:
    with pytest.raises(selection.ChannelSettingsError) as caught:
        selection.requested({"KEFU_CHANNELS": value})
    text = str(caught.value)
    assert "unknown channel" in text and "webchat, rest, wechat, wecom, wechat_kf" in text
    assert len(text) < 400, "a huge value is not echoed whole"


# -- picking the entries -----------------------------------------------------------------------------


def test_web_only_keeps_the_web_entries_and_no_wechat_variable() -> None:
    chosen = selection.select(CREDENTIALS, ["webchat", "rest"], {})
    assert chosen.missing == {}
    assert set(_entries(chosen.text)) == {"bot.channels.rest.KefuRestInput", "bot.channels.socketio.KefuSocketIOInput"}
    assert "${WECHAT" not in chosen.text and "${WECOM" not in chosen.text
    # the kept entries' text is the file's own (Rasa substitutes ${VAR} only in plain scalars)
    assert "bot.channels.socketio.KefuSocketIOInput:\n  user_message_evt: user_uttered\n" in chosen.text


def test_the_file_splits_into_its_entries_and_back() -> None:
    head, found = selection.blocks(CREDENTIALS)
    assert head + "".join(text for _, text in found) == CREDENTIALS
    assert sorted(name for name, _ in found) == sorted(_entries(CREDENTIALS))


def test_every_channel_enabled_names_every_missing_setting() -> None:
    chosen = selection.select(CREDENTIALS, list(selection.CHANNELS), {"WECHAT_TOKEN": "set"})
    assert chosen.missing == {
        "wechat": ["WECHAT_APPID", "WECHAT_APPSECRET"],
        "wecom": ["WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_AES_KEY"],
        "wechat_kf": ["WXKF_CORP_ID", "WXKF_SECRET", "WXKF_TOKEN", "WXKF_AES_KEY", "WXKF_OPEN_KFIDS"],
    }
    assert set(_entries(chosen.text)) == set(_entries(CREDENTIALS))


def test_blank_values_count_as_missing() -> None:
    env = {**WECHAT_ENV, "WECHAT_APPSECRET": "   "}
    assert selection.select(CREDENTIALS, ["wechat"], env).missing == {"wechat": ["WECHAT_APPSECRET"]}
    assert selection.select(CREDENTIALS, ["wechat"], WECHAT_ENV).missing == {}


def test_wechat_kf_takes_a_key_of_its_entry_before_its_variable() -> None:
    text = "bot.channels.wechat_kf.WeChatKfInput:\n  corp_id: ww_literal\n  secret: ${MY_KF_SECRET}\n"
    env = {k: v for k, v in WXKF_ENV.items() if k not in ("WXKF_CORP_ID", "WXKF_SECRET")}
    assert selection.select(text, ["wechat_kf"], env).missing == {"wechat_kf": ["MY_KF_SECRET"]}
    assert selection.select(text, ["wechat_kf"], {**env, "MY_KF_SECRET": "x" * 20}).missing == {}


def test_a_literal_key_missing_from_a_custom_file_is_named_with_the_file() -> None:
    text = "bot.channels.wechat.WeChatInput:\n  token: abc\n  appid: wx1\n"
    chosen = selection.select(text, ["wechat"], {}, "my-credentials.yml")
    assert chosen.missing == {"wechat": ["appsecret (in my-credentials.yml)"]}


def test_entries_kefu_does_not_know_are_kept() -> None:
    text = CREDENTIALS + "\nrasa.core.channels.telegram.TelegramInput:\n  access_token: ${TG_TOKEN}\n"
    kept = _entries(selection.select(text, ["webchat"], {}).text)
    assert set(kept) == {"bot.channels.socketio.KefuSocketIOInput", "rasa.core.channels.telegram.TelegramInput"}


def test_an_enabled_channel_the_file_lacks_stops() -> None:
    text = "bot.channels.socketio.KefuSocketIOInput:\n"
    with pytest.raises(selection.ChannelSettingsError, match="wecom.*no entry for bot.channels.wechat.WeComInput"):
        selection.select(text, ["webchat", "wecom"], {})


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("{bot.channels.socketio.KefuSocketIOInput: {}}\n", "top-level `name:` line"),
        ("- a\n- b\n", "must be a mapping"),
        ("a: [unclosed\n", "not valid YAML"),
        ("bot.channels.rest.KefuRestInput:\n\tbad: tab\n", "not valid YAML"),
    ],
)
def test_a_file_it_cannot_read_safely_stops(text: str, error: str) -> None:
    with pytest.raises(selection.ChannelSettingsError, match=error):
        selection.select(text, ["webchat"], {})


def test_an_empty_file_lacks_every_channel() -> None:
    with pytest.raises(selection.ChannelSettingsError, match="no entry"):
        selection.select("# nothing\n", ["webchat"], {})


# -- the command line ----------------------------------------------------------------------------------


@pytest.mark.parametrize("form", [["--credentials", "credentials.yml"], ["--credentials=credentials.yml"], []])
def test_prepare_points_rasa_at_a_private_copy(tmp_path: Path, form: list) -> None:
    args = selection.prepare(["run", "--port", "5005", *form, "--cors", "*"], WEB_ONLY_ENV, ROOT, str(tmp_path))
    assert args[:3] == ["run", "--port", "5005"] and "--cors" in args
    assert args.count("--credentials") == 1 and not any(a.startswith("--credentials=") for a in args)
    copy = Path(args[args.index("--credentials") + 1])
    assert copy.parent == tmp_path and copy.stat().st_mode & 0o077 == 0
    assert set(_entries(copy.read_text(encoding="utf-8"))) == {
        "bot.channels.rest.KefuRestInput",
        "bot.channels.socketio.KefuSocketIOInput",
    }


def test_prepare_with_an_unreadable_file_stops(tmp_path: Path) -> None:
    with pytest.raises(selection.ChannelSettingsError, match="cannot be read"):
        selection.prepare(["run", "--credentials", str(tmp_path / "absent.yml")], WEB_ONLY_ENV, ROOT)


def _server(env: Dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "WECOM_", "WXKF_", "KEFU_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.server", "run", "--credentials", "credentials.yml", *args],
        cwd=ROOT,
        env={**base, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_server_refuses_an_enabled_channel_without_settings_and_names_them() -> None:
    """The real entry point, before Rasa is imported: exit 78, every missing name, no value."""
    result = _server({"KEFU_CHANNELS": "webchat,wechat,wechat_kf", "WECHAT_APPSECRET": "VerySecretValue123456"})
    assert result.returncode == selection.EXIT_STATUS, result.stderr
    assert "wechat: WECHAT_TOKEN, WECHAT_APPID" in result.stderr
    assert "wechat_kf: WXKF_CORP_ID, WXKF_SECRET, WXKF_TOKEN, WXKF_AES_KEY, WXKF_OPEN_KFIDS" in result.stderr
    assert "WECHAT_APPSECRET" not in result.stderr and "VerySecretValue123456" not in result.stderr
    assert "wecom" not in result.stderr.split("now:")[0], "a channel that is not enabled needs nothing"


def test_the_server_refuses_an_unknown_channel_in_json_logs() -> None:
    result = _server({"KEFU_CHANNELS": "webchat,whatsapp", "KEFU_LOG_FORMAT": "json"})
    assert result.returncode == selection.EXIT_STATUS
    record = [line for line in result.stderr.splitlines() if line.startswith("{")][-1]
    assert '"level": "CRITICAL"' in record and "whatsapp" in record


@pytest.mark.parametrize(("channels", "checked"), [("webchat,rest", False), ("webchat,wechat_kf", True)])
def test_weak_wechat_kf_secrets_are_refused_only_when_the_channel_is_enabled(
    tmp_path: Path, channels: str, checked: bool
) -> None:
    """kernel/secrets.py checks the secrets of the channels Rasa really opens: the 微信客服 channel
    reads WXKF_* itself, so its entry in the selected file stands for them."""
    from kernel import secrets

    env = {**WXKF_ENV, "WXKF_TOKEN": "change-me-wxkf-token", "KEFU_CHANNELS": channels}
    args = selection.prepare(["run", "--credentials", "credentials.yml"], env, ROOT, str(tmp_path))
    refused = {problem.variable for problem in secrets.problems("rasa", env, args, ROOT)}
    assert ("WXKF_TOKEN" in refused) is checked
    assert "WXKF_SECRET" not in refused and "WXKF_AES_KEY" not in refused
