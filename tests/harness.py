"""The one process harness for tests that start servers: free ports, a command with its environment,
waiting until it answers, stopping its whole process group, and its log.

    group = ProcessGroup(workdir)
    group.add(Command("console", [python, "-m", "console"], env, ready=HttpReady(f"{url}/health")))
    group.launch(["console"])               # spawn, then wait; a death or the deadline raises with the log tail
    group.kill("console", signal.SIGKILL)   # the process group; SIGKILL when SIGTERM is not enough
    group.restart("console")
    group.stop()                            # everything it started

    server = ServerProcess.start(command, tmp_path / "server.log").wait_ready(timeout=60)
    server.stop()

Every process runs in its own session (so its children are stopped with it) and writes stdout and
stderr to one log file; :class:`ProcessExited` and :class:`ProcessNotReady` carry the last of it.
Waiting uses generous deadlines: nothing here asserts how long anything took. Standard library only,
so the Rasa environment's tests can use it too.

With ``KEFU_TEST_START_LOG=<file>`` every server that becomes ready appends one JSON line to that file: its name,
the seconds from spawn to ready (for a server spawned ahead: until a test first waited for it and found it ready) and
the test that waited (``make test`` sets it: ``var/test-starts.jsonl``;
``python -m tests.start_report`` sums it up). It measures the suite; it never decides a test.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"
#: How much of a process's output a failure message shows.
TAIL_CHARS = 4000
#: Deadline for a server to answer (a Rasa model load on a busy machine takes minutes): not a speed check.
READY_TIMEOUT = 240.0
#: How long a process may take to exit after SIGTERM before it gets SIGKILL.
STOP_GRACE = 30.0
POLL_INTERVAL = 0.25
#: Where servers' start-up times go (one JSON line each), when set.
START_LOG = "KEFU_TEST_START_LOG"

#: Something that says whether a server is ready; ``str()`` of it appears in failure messages.
Probe = Callable[[], bool]


# -- ports, environments, probes -------------------------------------------------------------------


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port nothing listens on right now (the kernel's choice; free until someone binds it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def environ_without(prefixes: Sequence[str] = ("KEFU_",), base: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """This process's environment (or ``base``) without the variables starting with ``prefixes``:
    a test's servers see only the settings the test gives them, never a developer's."""
    source = os.environ if base is None else base
    return {key: value for key, value in source.items() if not key.startswith(tuple(prefixes))}


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_status(url: str, timeout: float = 2.0) -> Optional[int]:
    """The status of ``GET url`` (no proxy), or None when nothing answers."""
    try:
        with _NO_PROXY.open(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        error.close()
        return int(error.code)
    except (urllib.error.URLError, http.client.HTTPException, OSError):
        return None


@dataclass(frozen=True)
class HttpReady:
    """Ready once ``GET url`` answers with a status below ``below`` (500: any answer but a server error)."""

    url: str
    below: int = 500

    def __call__(self) -> bool:
        status = http_status(self.url)
        return status is not None and status < self.below

    def __str__(self) -> str:
        return f"GET {self.url} answering below {self.below}"


@dataclass(frozen=True)
class TcpReady:
    """Ready once ``host:port`` accepts TCP connections."""

    port: int
    host: str = LOOPBACK

    def __call__(self) -> bool:
        return port_open(self.host, self.port)

    def __str__(self) -> str:
        return f"TCP {self.host}:{self.port} accepting connections"


@dataclass(frozen=True)
class Condition:
    """Ready once ``check()`` is true (an exception counts as not yet); ``what`` names it in failure messages."""

    what: str
    check: Callable[[], bool]

    def __call__(self) -> bool:
        try:
            return bool(self.check())
        except Exception:  # noqa: BLE001 - a server still starting may answer anything
            return False

    def __str__(self) -> str:
        return self.what


# -- failures ---------------------------------------------------------------------------------------


class ProcessFailed(RuntimeError):
    """A server process died or never became ready; the message ends with its last output."""

    def __init__(self, name: str, problem: str, output: str, log_path: Path) -> None:
        super().__init__(f"{name} {problem}; last output (log {log_path}):\n{output}")
        self.name = name
        self.output = output
        self.log_path = log_path


class ProcessExited(ProcessFailed):
    """The process exited before it was ready (``returncode`` says how)."""

    def __init__(self, name: str, returncode: int, output: str, log_path: Path) -> None:
        super().__init__(name, f"exited with status {returncode} before it was ready", output, log_path)
        self.returncode = returncode


class ProcessNotReady(ProcessFailed):
    """The process still ran but did not answer before the deadline."""


# -- one process ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """What to run: ``argv`` in ``cwd`` with exactly ``env``; ``ready`` says when it serves (None: at once)."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    ready: Optional[Probe] = None
    cwd: Path = ROOT


def read_tail(path: Path, chars: int = TAIL_CHARS) -> str:
    """The last ``chars`` characters of a log file ('' when there is none yet)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 4 * chars))
            data = handle.read()
    except FileNotFoundError:
        return ""
    return data.decode("utf-8", errors="replace")[-chars:]


class ServerProcess:
    """A started :class:`Command`: its own session, output appended to ``log_path``."""

    def __init__(self, command: Command, log_path: Path, popen: subprocess.Popen) -> None:
        self.command = command
        self.log_path = log_path
        self.popen = popen
        self.spawned = time.monotonic()
        self.ready_after: Optional[float] = None  #: seconds from spawn to the first ready answer

    @classmethod
    def start(cls, command: Command, log_path: Path) -> ServerProcess:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(command.env)
        env.setdefault("PYTHONUNBUFFERED", "1")  # the log tail is current when something goes wrong
        with open(log_path, "ab") as log:
            popen = subprocess.Popen(list(command.argv), cwd=str(command.cwd), env=env, stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return cls(command, log_path, popen)

    @property
    def name(self) -> str:
        return self.command.name

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> Optional[int]:
        return self.popen.poll()

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def tail(self, chars: int = TAIL_CHARS) -> str:
        return read_tail(self.log_path, chars)

    # -- waiting ------------------------------------------------------------------------------------
    def wait_ready(self, timeout: float = READY_TIMEOUT) -> ServerProcess:
        """Return once ``command.ready`` says yes; :class:`ProcessExited` if the process dies first,
        :class:`ProcessNotReady` after ``timeout`` seconds (a deadline, not a speed check)."""
        self.wait_ready_until(time.monotonic() + timeout, timeout)
        return self

    def wait_ready_until(self, deadline: float, timeout: float) -> None:
        probe = self.command.ready
        while True:
            status = self.popen.poll()
            if status is not None:
                raise ProcessExited(self.name, status, self.tail(), self.log_path)
            if probe is None or probe():
                self._record_ready()
                return
            if time.monotonic() > deadline:
                raise ProcessNotReady(self.name, f"was not ready within {timeout:.0f} s ({probe})", self.tail(),
                                      self.log_path)
            time.sleep(POLL_INTERVAL)

    def _record_ready(self) -> None:
        if self.ready_after is not None:
            return
        self.ready_after = time.monotonic() - self.spawned
        path = os.environ.get(START_LOG)
        if not path:
            return
        line = {"name": self.name, "program": " ".join(self.command.argv[1:3]), "seconds": round(self.ready_after, 2),
                "test": os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0], "at": round(time.time(), 1)}
        try:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(line, ensure_ascii=False) + "\n")
        except OSError:
            pass  # a measurement, never a reason for a test to fail

    def wait_exit(self, timeout: float) -> Optional[int]:
        """The exit status once the process has exited, or None if it still runs after ``timeout``."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    # -- stopping -----------------------------------------------------------------------------------
    def send(self, sig: int) -> None:
        """Send ``sig`` to the process's whole group (its children too), if it still runs."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, sig: int = signal.SIGTERM, grace: float = STOP_GRACE) -> Optional[int]:
        """``sig`` to the group, SIGKILL after ``grace`` seconds; returns the exit status."""
        if self.popen.poll() is None:
            self.send(sig)
            if self.wait_exit(grace) is None:
                self.send(signal.SIGKILL)
                self.popen.wait(timeout=30)
        return self.popen.returncode


# -- named processes ----------------------------------------------------------------------------------


class ProcessGroup:
    """Named commands run in ``workdir``, each logging to ``workdir/<name>.log`` (appended across restarts)."""

    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.commands: Dict[str, Command] = {}
        self.processes: Dict[str, ServerProcess] = {}

    def add(self, command: Command) -> None:
        self.commands[command.name] = command

    def log_path(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def spawn(self, name: str) -> ServerProcess:
        """Start ``name`` (without waiting for it)."""
        running = self.processes.get(name)
        if running is not None and running.alive():
            raise RuntimeError(f"{name} is already running (pid {running.pid})")
        process = ServerProcess.start(self.commands[name], self.log_path(name))
        self.processes[name] = process
        return process

    def wait_ready(self, names: Iterable[str], timeout: float = READY_TIMEOUT) -> None:
        """Wait until every one of ``names`` is ready, all within one deadline."""
        deadline = time.monotonic() + timeout
        for name in names:
            self.processes[name].wait_ready_until(deadline, timeout)

    def launch(self, names: Iterable[str], timeout: float = READY_TIMEOUT) -> None:
        """Spawn ``names`` together, then wait for all of them."""
        names = list(names)
        for name in names:
            self.spawn(name)
        self.wait_ready(names, timeout)

    def kill(self, name: str, sig: int = signal.SIGTERM) -> None:
        """Stop ``name``'s process group with ``sig`` (SIGKILL if it outlives the grace period)."""
        process = self.processes.get(name)
        if process is not None:
            process.stop(sig)

    def restart(self, name: str, sig: int = signal.SIGTERM, timeout: float = READY_TIMEOUT) -> None:
        self.kill(name, sig)
        self.spawn(name)
        self.wait_ready([name], timeout)

    def alive(self, name: str) -> bool:
        process = self.processes.get(name)
        return bool(process and process.alive())

    def log(self, name: str) -> str:
        path = self.log_path(name)
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def logs(self) -> Dict[str, str]:
        return {name: self.log(name) for name in self.processes}

    def stop(self) -> None:
        """Stop everything this group started: SIGTERM to all of them at once (each takes seconds to shut down),
        then each is waited for, and gets SIGKILL if it outlives the grace period."""
        running = [process for process in self.processes.values() if process.alive()]
        for process in running:
            process.send(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for process in running:
            if process.wait_exit(max(0.0, deadline - time.monotonic())) is None:
                process.send(signal.SIGKILL)
                process.popen.wait(timeout=30)


def log_sections(values: Iterable[Any], chars: int = 3000) -> List[Tuple[str, str]]:
    """Report sections with the log tail of every :class:`ProcessGroup` and :class:`ServerProcess` among
    ``values`` (a test's fixture values): a failed test in CI shows what its servers said."""
    sections: List[Tuple[str, str]] = []
    for value in values:
        if isinstance(value, ProcessGroup):
            logs = [(name, value.log_path(name)) for name in sorted(value.processes)]
        elif isinstance(value, ServerProcess):
            logs = [(value.name, value.log_path)]
        else:
            continue
        for name, path in logs:
            try:
                text = read_tail(path, chars)
            except OSError as error:
                text = f"(log unreadable: {error})"
            sections.append((f"log of {name} (last {chars} characters)", text))
    return sections
