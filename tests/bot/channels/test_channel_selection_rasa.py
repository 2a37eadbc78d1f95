"""KEFU_CHANNELS with Rasa itself: the file bot/channels/selection.py writes is the one Rasa loads,
and its required settings are the channels' own."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.channels import selection

pytestmark = pytest.mark.rasa_env

ROOT = Path(__file__).resolve().parents[3]
CHANNEL_VARIABLES = ("WECHAT_", "WECOM_", "WXKF_", "KEFU_CHANNELS")


@pytest.fixture
def bare_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No channel setting and no shared Redis: a seller with only the web widget."""
    import os

    for name in list(os.environ):
        if name.startswith(CHANNEL_VARIABLES) or name.endswith("_REDIS_URL"):
            monkeypatch.delenv(name)


def test_required_settings_are_the_channels_own() -> None:
    from bot.channels.wechat.channel import OFFICIAL_ACCOUNT, WECOM_APP
    from bot.channels.wechat_kf import channel as kf

    assert tuple(selection.CHANNELS["wechat"].required) == OFFICIAL_ACCOUNT.required
    assert tuple(selection.CHANNELS["wecom"].required) == WECOM_APP.required
    assert tuple(selection.CHANNELS["wechat_kf"].required) == kf.REQUIRED
    assert dict(selection.CHANNELS["wechat_kf"].required) == {key: kf.SETTINGS[key] for key in kf.REQUIRED}


def test_entries_name_importable_channel_classes() -> None:
    from rasa.core.channels.channel import InputChannel
    from rasa.shared.utils.common import class_from_module_path

    for channel in selection.CHANNELS.values():
        assert issubclass(class_from_module_path(channel.entry), InputChannel), channel.entry


def test_rasa_opens_only_the_web_channels_with_no_wechat_setting(bare_environment: None, tmp_path: Path) -> None:
    from rasa.core.run import create_http_input_channels

    args = selection.prepare(
        ["run", "--credentials", "credentials.yml"], {"KEFU_CHANNELS": "webchat,rest"}, ROOT, str(tmp_path)
    )
    channels = create_http_input_channels(None, args[args.index("--credentials") + 1])
    assert sorted(type(c).__name__ for c in channels) == ["KefuRestInput", "KefuSocketIOInput"]


def test_without_the_selection_rasa_wants_every_wechat_setting(bare_environment: None) -> None:
    """What KEFU_CHANNELS fixes: the whole file needs the WeChat values even for a web-only seller."""
    from rasa.core.run import create_http_input_channels

    with pytest.raises(Exception, match="WECHAT_TOKEN|WECHAT_APPID|environment variable"):
        create_http_input_channels(None, str(ROOT / "credentials.yml"))
