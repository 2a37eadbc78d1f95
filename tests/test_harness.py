"""tests/harness.py, the process harness every server-starting test uses: real (tiny) processes."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
from pathlib import Path

import pytest

from tests.harness import (
    Command,
    Condition,
    HttpReady,
    ProcessExited,
    ProcessGroup,
    ProcessNotReady,
    ServerProcess,
    TcpReady,
    environ_without,
    free_port,
    http_status,
    log_sections,
    port_open,
)

#: Deadline for these tiny processes: generous, never asserted.
READY = 60.0


def python(code: str) -> list:
    return [sys.executable, "-c", textwrap.dedent(code)]


def http_server(port: int) -> Command:
    return Command("web", [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
                   environ_without(), HttpReady(f"http://127.0.0.1:{port}/"))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by init) counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_free_port_is_bindable_and_closed() -> None:
    port = free_port()
    assert 0 < port < 65536
    assert not port_open("127.0.0.1", port)
    assert http_status(f"http://127.0.0.1:{port}/") is None


def test_environment_drops_kefu_settings_only() -> None:
    env = environ_without(base={"KEFU_RASA_TOKEN": "x", "PATH": "/bin", "WECHAT_TOKEN": "y"})
    assert env == {"PATH": "/bin", "WECHAT_TOKEN": "y"}
    assert environ_without(("KEFU_", "WECHAT_"), base={"WECHAT_TOKEN": "y", "HOME": "/h"}) == {"HOME": "/h"}


def test_a_server_becomes_ready_and_stop_ends_it(tmp_path: Path) -> None:
    port = free_port()
    server = ServerProcess.start(http_server(port), tmp_path / "web.log").wait_ready(READY)
    assert server.alive() and port_open("127.0.0.1", port)
    assert http_status(f"http://127.0.0.1:{port}/") == 200
    assert http_status(f"http://127.0.0.1:{port}/missing") == 404
    assert TcpReady(port)()
    server.stop()
    assert not server.alive() and not port_open("127.0.0.1", port)
    assert "GET / HTTP" in server.log()  # http.server logs requests to stderr: captured


def test_a_process_that_dies_fails_with_its_status_and_last_output(tmp_path: Path) -> None:
    command = Command("broken", python("""
        import sys
        print("loading the model")
        sys.stderr.write("KEFU_LOG_FORMAT must be one of text, json\\n")
        sys.exit(78)
    """), environ_without(), HttpReady(f"http://127.0.0.1:{free_port()}/health"))
    with pytest.raises(ProcessExited) as failure:
        ServerProcess.start(command, tmp_path / "broken.log").wait_ready(READY)
    assert failure.value.returncode == 78
    message = str(failure.value)
    assert "broken exited with status 78" in message
    assert "loading the model" in message and "KEFU_LOG_FORMAT must be one of text, json" in message
    assert str(tmp_path / "broken.log") in message
    assert isinstance(failure.value, RuntimeError)  # callers that expect RuntimeError still catch it


def test_a_condition_is_not_met_while_it_raises() -> None:
    assert not Condition("raises", lambda: 1 / 0)()
    assert Condition("true", lambda: True)() and str(Condition("the shop answers", lambda: True)) == "the shop answers"


def test_a_process_that_never_answers_fails_with_the_probe_and_output(tmp_path: Path) -> None:
    port = free_port()
    command = Command("silent", python("""
        import time
        print("started, listening nowhere", flush=True)
        time.sleep(600)
    """), environ_without(), HttpReady(f"http://127.0.0.1:{port}/health"))
    server = ServerProcess.start(command, tmp_path / "silent.log")
    try:
        with pytest.raises(ProcessNotReady) as failure:
            server.wait_ready(timeout=1)
    finally:
        server.stop()
    message = str(failure.value)
    assert f"GET http://127.0.0.1:{port}/health answering below 500" in message
    assert "started, listening nowhere" in message
    assert not server.alive()


def test_stop_ends_the_whole_group_and_kills_what_ignores_sigterm(tmp_path: Path) -> None:
    ready = tmp_path / "child.pid"
    command = Command("stubborn", python(f"""
        import signal, subprocess, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen([sys.executable, "-c", "import signal, time; "
                                  "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
        open({str(ready)!r}, "w").write(str(child.pid))
        time.sleep(600)
    """), environ_without(), Condition("the child's pid written", lambda: int(ready.read_text()) > 0))
    server = ServerProcess.start(command, tmp_path / "stubborn.log").wait_ready(READY)
    child = int(ready.read_text())
    assert pid_alive(child)
    status = server.stop(grace=1)
    assert status == -signal.SIGKILL  # SIGTERM was ignored: SIGKILL after the grace period
    for _ in range(200):  # the child is the group's too; init reaps it
        if not pid_alive(child):
            break
        server.wait_exit(0.05)
    assert not pid_alive(child)


def test_a_group_restarts_a_process_and_appends_to_its_log(tmp_path: Path) -> None:
    port = free_port()
    group = ProcessGroup(tmp_path / "group")
    group.add(http_server(port))
    group.launch(["web"], READY)
    try:
        first = group.processes["web"].pid
        with pytest.raises(RuntimeError, match="already running"):
            group.spawn("web")
        group.kill("web", signal.SIGKILL)
        assert not group.alive("web")
        group.restart("web", timeout=READY)
        assert group.alive("web") and group.processes["web"].pid != first
        assert http_status(f"http://127.0.0.1:{port}/") == 200
    finally:
        group.stop()
    assert not group.alive("web")
    assert group.log("web").count("Serving HTTP") == 2
    sections = log_sections([group, "not a process", None])
    assert [title for title, _ in sections] == ["log of web (last 3000 characters)"]
    assert "Serving HTTP" in sections[0][1]
