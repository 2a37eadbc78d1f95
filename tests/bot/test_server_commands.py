"""``python -m bot.server shell|interactive|test``: Rasa's development commands with ``make run``'s settings filled in
and the trained model named, never overriding what the caller set (the runtime itself: test_runtime_patches.py)."""

from __future__ import annotations

from pathlib import Path

from bot.server import development_args, development_environment, has_option


def test_shell_and_interactive_get_the_trained_model_unless_one_is_named() -> None:
    env = {"KEFU_MODEL": "/models/kefu.tar.gz"}
    assert development_args(["shell"], env) == ["shell", "--model", "/models/kefu.tar.gz"]
    assert development_args(["interactive", "--debug"], env) == ["interactive", "--debug", "--model",
                                                                 "/models/kefu.tar.gz"]
    assert development_args(["shell"], {}) == ["shell", "--model", "models/kefu.tar.gz"]
    for named in (["shell", "-m", "x.tar.gz"], ["shell", "--model", "x"], ["interactive", "--model=x"]):
        assert development_args(named, env) == named
    # their sub-commands and --help take their own arguments; test and run are Rasa's as they are
    for args in (["shell", "nlu"], ["interactive", "core"], ["shell", "--help"], ["test", "core"], ["run"], []):
        assert development_args(args, env) == args


def test_options_are_matched_whole() -> None:
    assert has_option(["--model=a"], "--model") and has_option(["-m", "a"], "-m", "--model")
    assert not has_option(["--models", "a"], "--model") and not has_option(["x--model"], "--model")


def test_make_runs_settings_fill_the_gaps_and_never_override(tmp_path: Path) -> None:
    environ = {"KEFU_VAR_DIR": str(tmp_path), "KEFU_ACTION_PORT": "6055", "KEFU_TRACKER_DB": "/data/t.db",
               "KEFU_DEMO": "false"}
    development_environment(environ)
    assert environ["KEFU_ACTION_URL"] == "http://127.0.0.1:6055/webhook"  # what endpoints.yml reads
    assert environ["KEFU_TRACKER_DB"] == "/data/t.db" and environ["KEFU_EVENTS_DB"] == "var/events.db"
    assert environ["KEFU_DEMO"] == "false"  # a production-like environment keeps refusing weak secrets
    assert environ["WECHAT_TOKEN"] and environ["RASA_TELEMETRY_ENABLED"] == "false"
    fresh = {"KEFU_VAR_DIR": str(tmp_path)}
    development_environment(fresh)
    assert fresh["KEFU_DEMO"] == "true"
    assert fresh["KEFU_RASA_TOKEN"] == environ["KEFU_RASA_TOKEN"]  # the var dir's token, as make run uses

