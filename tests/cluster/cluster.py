"""A real Kefu cluster on loopback: 2 Rasa replicas, 2 action servers, the console and nginx,
on PostgreSQL and Redis, started from the production configuration (endpoints.prod.yml).

Used by the fault tests (tests/cluster/) and the load harness (benchmarks/load.py).

- PostgreSQL is a private instance (``initdb`` into a temporary directory, from the machine's
  PostgreSQL binaries, on a free port), because one fault test restarts it: restarting the
  machine's shared server would disturb everything else using it.
- Redis is the machine's server; the Rasa lock store gets a database of its own and a key prefix
  per cluster, socket.io fan-out and the WeChat caches other databases.
- nginx renders ``deploy/nginx/kefu.conf.template``, the same template docker-compose uses.

    cluster = Cluster.start(workdir, redis_url="redis://127.0.0.1:6379/0")
    cluster.say("alice", "你好")            # through nginx (REST)
    cluster.say("alice", "hi", via="rasa-2")  # one replica directly
    cluster.kill("rasa-1", signal.SIGKILL); cluster.spawn("rasa-1"); cluster.wait_ready(["rasa-1"])
    cluster.restart("console")              # the process harness (tests/harness.py) runs them all
    cluster.pg.restart(down_seconds=3)
    cluster.stop()
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional
from urllib.parse import urlparse

import requests

from kernel.settings import ROOT, resolve
from launcher.processes import process_env
from tests.harness import Command, HttpReady, ProcessGroup, environ_without, free_port
from tests.stack import MODEL

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
TEMPLATE = ROOT / "deploy" / "nginx" / "kefu.conf.template"
DATABASES = ("kefu_tracker", "kefu_events", "kefu_store", "kefu_app", "kefu_console")
#: Redis databases (the lock store's must be its own: docs/operations.md)
REDIS_DBS = {"lock": 3, "socketio": 4, "wechat": 5, "limits": 6}


def postgres_bin() -> Optional[Path]:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def unavailable_reason() -> Optional[str]:
    """Why the cluster cannot start here, or None."""
    if not MODEL.exists():
        return f"no trained Rasa model at {MODEL}: run `make model` (make test does)"
    if postgres_bin() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
    if not Path(NGINX).exists():
        return "nginx is not installed (make test installs Debian's nginx)"
    if not (ROOT / "var" / "kb" / "current").exists():
        return "no knowledge-base index: run `make kb`"
    return None


def render_nginx(values: Mapping[str, str], template: Path = TEMPLATE) -> str:
    """The template with its ${UPPER_CASE} variables filled (as the nginx image's envsubst does)."""
    text = template.read_text(encoding="utf-8")
    missing = sorted(set(re.findall(r"\$\{([A-Z_]+)\}", text)) - set(values))
    if missing:
        raise KeyError(f"nginx template variables without a value: {missing}")
    return re.sub(r"\$\{([A-Z_]+)\}", lambda m: values[m.group(1)], text)


@dataclass
class PrivatePostgres:
    """A throw-away PostgreSQL server (trust auth, user postgres) that tests may stop and restart.

    Started and stopped with ``pg_ctl -w`` rather than tests/harness.py: pg_ctl knows when the server
    accepts queries (an open port is not enough during recovery) and restarts it on the same data."""

    directory: Path
    port: int
    bindir: Path
    user: Optional[str]  # run as this user (initdb refuses to run as root)

    @classmethod
    def create(cls) -> PrivatePostgres:
        bindir = postgres_bin()
        if bindir is None:
            raise RuntimeError("PostgreSQL server binaries not found")
        directory = Path(tempfile.mkdtemp(prefix="kefu-pg-"))
        user = None
        if os.geteuid() == 0:
            user = "postgres"
            entry = pwd.getpwnam(user)
            os.chown(directory, entry.pw_uid, entry.pw_gid)
        pg = cls(directory, free_port(), bindir, user)
        pg._run(["initdb", "-D", str(pg.datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                 "--locale=C.UTF-8"])
        pg.start()
        return pg

    @property
    def datadir(self) -> Path:
        return self.directory / "data"

    def _run(self, argv: List[str], check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bindir / argv[0]), *argv[1:]]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:2])} failed: {result.stdout}\n{result.stderr}")
        return result

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c max_connections=400 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run(["pg_ctl", "-D", str(self.datadir), "-l", str(self.directory / "server.log"), "-o", options,
                   "-w", "-t", "60", "start"])

    def stop(self, mode: str = "fast") -> None:
        self._run(["pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "-t", "60", "stop"], check=False)

    def restart(self, down_seconds: float = 2.0) -> None:
        """Stop (fast: open connections are cut), stay down a while, start again."""
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def create_databases(self, names: List[str]) -> None:
        import sqlalchemy as sa

        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()

    def server_log(self) -> str:
        path = self.directory / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""


class Cluster(ProcessGroup):
    """The processes (tests/harness.py) plus the private PostgreSQL they share."""

    def __init__(self, workdir: Path, pg: PrivatePostgres, env: Dict[str, str], ports: Dict[str, int],
                 replicas: int) -> None:
        super().__init__(workdir)
        self.pg = pg
        self.env = env
        self.ports = ports
        self.replicas = replicas

    # -- start -----------------------------------------------------------------------------------
    @classmethod
    def start(cls, workdir: Path, redis_url: str, replicas: int = 2, timeout: float = 300.0,
              extra_env: Optional[Mapping[str, str]] = None) -> Cluster:
        workdir.mkdir(parents=True, exist_ok=True)
        pg = PrivatePostgres.create()
        cluster: Optional[Cluster] = None
        try:
            pg.create_databases(list(DATABASES))
            cluster = cls._configure(workdir, pg, redis_url, replicas, extra_env or {})
            cluster._seed_store()
            cluster._start_all(timeout)
        except BaseException:
            if cluster is not None:
                cluster.stop()  # whatever was spawned, and the database
            else:
                pg.destroy()
            raise
        return cluster

    @classmethod
    def _configure(cls, workdir: Path, pg: PrivatePostgres, redis_url: str, replicas: int,
                   extra_env: Mapping[str, str]) -> Cluster:
        redis = urlparse(redis_url)
        redis_base = f"redis://{redis.hostname or '127.0.0.1'}:{redis.port or 6379}"
        ports = {name: free_port() for name in ("public", "agent", "rasa_api", "actions_lb", "console")}
        for i in range(1, replicas + 1):
            ports[f"rasa-{i}"] = free_port()
            ports[f"actions-{i}"] = free_port()
        from tests.console.process import config_file

        env = environ_without()
        env.update({
            "KEFU_HOST": "127.0.0.1",
            "KEFU_VAR_DIR": str(workdir),
            "KEFU_MODEL": str(MODEL),
            "KEFU_ENDPOINTS": "endpoints.prod.yml",
            "KEFU_RASA_TOKEN": uuid.uuid4().hex,
            "KEFU_CONSOLE_SERVICE_TOKEN": uuid.uuid4().hex,
            "KEFU_CONSOLE_SECRET": uuid.uuid4().hex,
            "KEFU_WEB_TOKEN_SECRET": uuid.uuid4().hex,
            "KEFU_TRACKER_DB_URL": pg.url("kefu_tracker"),
            "KEFU_EVENTS_DB_URL": pg.url("kefu_events"),
            "KEFU_STORE_DB_URL": pg.url("kefu_store"),
            "KEFU_APP_DB_URL": pg.url("kefu_app"),
            "KEFU_CONSOLE_DB_URL": pg.url("kefu_console"),
            "KEFU_REDIS_HOST": redis.hostname or "127.0.0.1",
            "KEFU_REDIS_PORT": str(redis.port or 6379),
            "KEFU_REDIS_LOCK_DB": str(REDIS_DBS["lock"]),
            "KEFU_REDIS_PASSWORD": "",
            "KEFU_REDIS_LOCK_PREFIX": "kefu" + uuid.uuid4().hex[:10],
            "KEFU_SOCKETIO_REDIS_URL": f"{redis_base}/{REDIS_DBS['socketio']}",
            "KEFU_WECHAT_REDIS_URL": f"{redis_base}/{REDIS_DBS['wechat']}",
            "KEFU_RATE_LIMIT_REDIS_URL": f"{redis_base}/{REDIS_DBS['limits']}",
            "KEFU_ACTION_URL": f"http://127.0.0.1:{ports['actions_lb']}/webhook",
            "KEFU_RASA_URL": f"http://127.0.0.1:{ports['rasa_api']}",
            "KEFU_CONSOLE_URL": f"http://127.0.0.1:{ports['console']}",
            "KEFU_CONSOLE_PORT": str(ports["console"]),
            "KEFU_CONSOLE_CONFIG": str(config_file(workdir)),
            "KEFU_CONSOLE_TAIL_INTERVAL": "0.2",
            "KEFU_CONSOLE_UNANSWERED_GROUPING": "exact",
            "KEFU_LOG_FORMAT": "json",
            # Rasa's PostgreSQL pools (per replica): keep the private server's connection count bounded
            "SQL_POOL_SIZE": "10",
            "SQL_MAX_OVERFLOW": "20",
        })
        env.update(extra_env)
        cluster = cls(workdir, pg, process_env(resolve(env)), ports, replicas)
        cluster._plan()
        return cluster

    def _plan(self) -> None:
        env, ports = self.env, self.ports
        for i in range(1, self.replicas + 1):
            port = ports[f"rasa-{i}"]
            self.add(Command(
                f"rasa-{i}",
                [str(ROOT / ".venv-rasa/bin/python"), "-m", "bot.server", "run", "--model", env["KEFU_MODEL"],
                 "--enable-api", "--auth-token", env["KEFU_RASA_TOKEN"], "--interface", "127.0.0.1",
                 "--port", str(port), "--endpoints", "endpoints.prod.yml", "--credentials", "credentials.yml"],
                env, HttpReady(f"http://127.0.0.1:{port}/")))
            port = ports[f"actions-{i}"]
            self.add(Command(
                f"actions-{i}",
                [str(ROOT / ".venv/bin/python"), "-m", "actions.server", "--actions", "actions", "--port", str(port)],
                env, HttpReady(f"http://127.0.0.1:{port}/health")))
        self.add(Command("console", [str(ROOT / ".venv/bin/python"), "-m", "console"], env,
                         HttpReady(f"http://127.0.0.1:{ports['console']}/health")))
        runtime = self.workdir / "nginx"
        runtime.mkdir(parents=True, exist_ok=True)
        servers = lambda kind: " ".join(  # noqa: E731
            f"server 127.0.0.1:{ports[f'{kind}-{i}']} max_fails=1 fail_timeout=5s;" for i in range(1, self.replicas + 1))
        conf = render_nginx({
            "PUBLIC_LISTEN": f"127.0.0.1:{ports['public']}",
            "AGENT_LISTEN": f"127.0.0.1:{ports['agent']}",
            "RASA_API_LISTEN": f"127.0.0.1:{ports['rasa_api']}",
            "ACTIONS_LISTEN": f"127.0.0.1:{ports['actions_lb']}",
            "RASA_SERVERS": servers("rasa"),
            "ACTION_SERVERS": servers("actions"),
            "CONSOLE_SERVER": f"server 127.0.0.1:{ports['console']};",
            "RUNTIME_DIR": str(runtime),
        })
        if os.geteuid() == 0:
            conf = "user root;\n" + conf
        (runtime / "nginx.conf").write_text(conf, encoding="utf-8")
        self.add(Command("nginx", [NGINX, "-c", str(runtime / "nginx.conf"), "-p", str(runtime), "-g", "daemon off;"],
                         env, HttpReady(f"http://127.0.0.1:{ports['public']}/health")))

    def _seed_store(self) -> None:
        result = subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "actions.store", "seed", "--if-empty"],
                                cwd=str(ROOT), env=self.env, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"seeding the store failed:\n{result.stdout}\n{result.stderr}")

    def _start_all(self, timeout: float) -> None:
        # The first replica of each kind creates the tables; the second starts once they exist
        # (two processes racing on CREATE TABLE would make one of them fail).
        self.launch(["nginx", "console", "rasa-1", "actions-1"], timeout)
        self.launch([f"{kind}-{i}" for i in range(2, self.replicas + 1) for kind in ("rasa", "actions")], timeout)

    # -- processes ---------------------------------------------------------------------------------
    def stop(self) -> None:
        """Every process (tests/harness.py), then the private database."""
        super().stop()
        self.pg.destroy()

    # -- clients -----------------------------------------------------------------------------------
    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['public']}"

    @property
    def agent_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['agent']}"

    @property
    def rasa_api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['rasa_api']}"

    @property
    def token(self) -> str:
        return self.env["KEFU_RASA_TOKEN"]

    def url_of(self, via: Optional[str]) -> str:
        return self.public_url if via is None else f"http://127.0.0.1:{self.ports[via]}"

    def post(self, sender: str, message: str, via: Optional[str] = None, timeout: float = 60.0,
             metadata: Optional[Dict[str, Any]] = None) -> requests.Response:
        body: Dict[str, Any] = {"sender": sender, "message": message}
        if metadata:
            body["metadata"] = metadata
        return requests.post(f"{self.url_of(via)}/webhooks/rest/webhook", json=body, timeout=timeout)

    def say(self, sender: str, message: str, via: Optional[str] = None) -> List[Dict[str, Any]]:
        response = self.post(sender, message, via)
        response.raise_for_status()
        return response.json()

    def tracker(self, sender: str) -> Dict[str, Any]:
        from tests.stack import Stack  # REST senders are rest:<sender>, widget sessions web:<id>

        response = requests.get(f"{self.rasa_api_url}/conversations/{Stack.conversation_id(sender)}/tracker",
                                params={"token": self.token}, timeout=30)
        response.raise_for_status()
        return response.json()


