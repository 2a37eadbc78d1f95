"""Kefu's action server: ``python -m actions.server --actions actions --port 5055``.

rasa-sdk's own server (same flags as ``python -m rasa_sdk``, same app from
``rasa_sdk.endpoint.create_app_for_serve``: ``POST /webhook``, ``GET /actions``,
``GET /health`` → ``{"status": "ok"}``) with:

- ``GET /metrics``: Prometheus metrics (``actions.metrics``): the time each custom action takes,
  action errors, FAQ outcomes and handoffs by reason;
- every action call runs with the tracker's ``sender_id`` as the log ``conversation_id``;
- logs: ``KEFU_LOG_FORMAT=json`` for one JSON object a line, ``text`` (default) for rasa-sdk's
  coloured lines; personal data masked in both (``kernel.logs``).

One process per replica: with ``ACTION_SERVER_SANIC_WORKERS`` > 1 each worker keeps its own
metrics, so scale with replicas instead.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from dataclasses import dataclass
from functools import partial
from typing import Any, Dict, List, Optional, Union

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME, DEFAULT_ENDPOINTS_PATH, DEFAULT_KEEP_ALIVE_TIMEOUT
from rasa_sdk.endpoint import create_app_for_serve, create_argument_parser, create_ssl_config
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionMissingDomainException, ActionNotFoundException
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.worker.loader import AppLoader

from actions import escalation_words, known_events, metrics
from kernel.action_events import UNKNOWN_STATUS, InvalidDelta, unknown_body
from kernel.logs import (
    add_masking,
    adopt_loggers,
    bind_conversation,
    configure,
    log_format,
    reset_conversation,
)
from kernel.secrets import enforce as enforce_secrets

logger = logging.getLogger(__name__)

SERVICE_NAME = "actions"


class InstrumentedExecutor(ActionExecutor):
    """rasa-sdk's executor, timing every action and binding the conversation id for its log lines. Each call
    also starts a background refresh of the supervisors' escalation words when they are stale (never waited for:
    actions/escalation_words.py)."""

    async def run(self, action_call: Dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        escalation_words.REFRESHER.poke()
        try:  # a call with only the new events gets every event back (actions/known_events.py)
            how = known_events.KNOWN.resolve(action_call)
        except known_events.EventsUnknown:
            metrics.ACTION_EVENTS.labels("unknown").inc()
            raise
        if how is not None:
            metrics.ACTION_EVENTS.labels(how).inc()
        action_name = action_call.get("next_action")
        if not action_name:
            return await super().run(action_call, *args, **kwargs)
        label = action_name if action_name in self.actions else metrics.UNKNOWN_ACTION
        tracker = action_call.get("tracker")
        sender_id = tracker.get("sender_id") if isinstance(tracker, dict) else None
        token = bind_conversation(sender_id or action_call.get("sender_id"))
        metrics.ACTIONS_IN_PROGRESS.inc()
        started = time.perf_counter()
        timed = label != metrics.UNKNOWN_ACTION
        try:
            return await super().run(action_call, *args, **kwargs)
        except ActionNotFoundException:
            metrics.ACTION_ERRORS.labels(metrics.UNKNOWN_ACTION, "not_found").inc()
            raise
        except ActionMissingDomainException:
            timed = False  # rasa-sdk asks Rasa for the domain (449); Rasa calls again with it
            raise
        except (ActionExecutionRejection, asyncio.CancelledError):
            raise  # a form's "not me" answer to Rasa, or a cancelled request: not an action failure
        except Exception:
            metrics.ACTION_ERRORS.labels(label, "exception").inc()
            raise
        finally:
            if timed:
                metrics.ACTION_DURATION.labels(label).observe(time.perf_counter() - started)
            metrics.ACTIONS_IN_PROGRESS.dec()
            reset_conversation(token)


@dataclass(frozen=True)
class LogSetup:
    """How this process logs: from the command line (``-v``/``-vv``/``--quiet``, ``--log-file``,
    ``--logging-config_file``) and ``KEFU_LOG_FORMAT``."""

    level: int = logging.INFO
    log_file: Optional[str] = None
    config_file: Optional[str] = None

    def apply(self) -> None:
        logging.getLogger("matplotlib").setLevel(logging.WARN)
        if self.config_file:  # the operator's own dictConfig; masking is still added
            utils.configure_file_logging(
                logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), self.log_file, self.level, self.config_file
            )
            utils.update_sanic_log_level()
            add_masking(logging.getLogger())
            return
        if log_format() == "json":
            handler = configure("json", self.level, service=SERVICE_NAME)
            utils.update_sanic_log_level()  # levels from LOG_LEVEL_LIBRARIES, as rasa-sdk does
            adopt_loggers()  # ... but into the JSON handler instead of nowhere
            if self.log_file:
                file_handler = logging.FileHandler(self.log_file, encoding="utf-8")
                file_handler.setFormatter(handler.formatter)
                for log_filter in handler.filters:
                    file_handler.addFilter(log_filter)
                logging.getLogger().addHandler(file_handler)
            return
        utils.configure_colored_logging(self.level)
        utils.configure_file_logging(
            logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), self.log_file, self.level, None
        )
        utils.update_sanic_log_level()
        add_masking(logging.getLogger())
        add_masking(logging.getLogger(APPLICATION_ROOT_LOGGER_NAME))


def create_app(
    action_executor: ActionExecutor,
    cors_origins: Union[str, List[str], None] = "*",
    auto_reload: bool = False,
    endpoints: str = DEFAULT_ENDPOINTS_PATH,
    keep_alive_timeout: int = DEFAULT_KEEP_ALIVE_TIMEOUT,
    log_setup: Optional[LogSetup] = None,
) -> Sanic:
    """rasa-sdk's app plus ``/metrics``. ``log_setup`` is applied first: Sanic worker processes
    build their app with this factory and do not inherit the parent's logging."""
    if log_setup is not None:
        log_setup.apply()
    app = create_app_for_serve(
        action_executor,
        cors_origins=cors_origins,
        auto_reload=auto_reload,
        endpoints=endpoints,
        keep_alive_timeout=keep_alive_timeout,
    )

    @app.on_request
    async def bind_sender(request: Request) -> None:
        # for rasa-sdk's own log lines around the action (its error handler runs after the executor)
        sender_id = None
        if request.path == "/webhook" and request.headers.get("Content-Encoding") != "deflate":
            try:
                call = request.json  # parsed once: Sanic caches it for the webhook handler
            except Exception:
                call = None  # rasa-sdk answers a malformed body itself
            tracker = call.get("tracker") if isinstance(call, dict) else None
            sender_id = tracker.get("sender_id") if isinstance(tracker, dict) else None
        bind_conversation(sender_id)

    @app.exception(known_events.EventsUnknown)
    async def events_unknown(_: Request, error: known_events.EventsUnknown) -> HTTPResponse:
        # not an error: this server restarted or never saw the conversation; Rasa sends every event again
        logger.info("action_events.unknown conversation_id=%s", error.sender_id)
        return response.json(unknown_body(error.sender_id), status=UNKNOWN_STATUS)

    @app.exception(InvalidDelta)
    async def invalid_delta(_: Request, error: InvalidDelta) -> HTTPResponse:
        # 422, not 400: Rasa reads a 400 as an action rejecting itself (a form's "not me")
        logger.warning("action_events.invalid %s", error)
        return response.json({"error": str(error)}, status=422)

    @app.get("/metrics")
    async def prometheus_metrics(_: Request) -> HTTPResponse:
        body, content_type = metrics.render()
        return response.raw(body, content_type=content_type)

    return app


def serve(args: argparse.Namespace, executor: ActionExecutor, log_setup: LogSetup) -> None:
    workers = utils.number_of_sanic_workers()
    ssl_config = create_ssl_config(args.ssl_certificate, args.ssl_keyfile, args.ssl_password)
    host = os.environ.get("SANIC_HOST", "0.0.0.0")
    protocol = "https" if ssl_config else "http"
    logger.info("Action endpoint is up and running on %s://%s:%s", protocol, host, args.port)
    if workers == 1:  # one process: logging is already set up here
        app = create_app(executor, cors_origins=args.cors, auto_reload=args.auto_reload, endpoints=args.endpoints)
        app.prepare(host=host, port=args.port, ssl=ssl_config, single_process=True, motd=False)
        Sanic.serve_single(primary=app)
        return
    logger.warning(
        "actions.server workers=%d: each worker has its own /metrics; prefer one worker per replica", workers
    )
    loader = AppLoader(
        factory=partial(
            create_app, executor, cors_origins=args.cors, auto_reload=args.auto_reload,
            endpoints=args.endpoints, log_setup=log_setup,
        )
    )
    app = loader.load()
    app.prepare(host=host, port=args.port, ssl=ssl_config, workers=workers, motd=False)
    Sanic.serve(primary=app, app_loader=loader)


def main(argv: Optional[List[str]] = None) -> int:
    args = create_argument_parser().parse_args(argv)
    enforce_secrets("actions")  # placeholder or weak secrets: refuse to start (docs/security.md)
    log_setup = LogSetup(args.loglevel, args.log_file, args.logging_config_file)
    log_setup.apply()
    executor = InstrumentedExecutor()
    executor.register_package(args.actions_module or args.actions)
    if args.grpc:
        from rasa_sdk.grpc_server import run_grpc

        logger.warning("actions.server --grpc: gRPC has no /metrics; use HTTP for Kefu")
        asyncio.run(
            run_grpc(executor, args.port, args.ssl_certificate, args.ssl_keyfile, args.ssl_ca_file,
                     args.auto_reload, args.endpoints)
        )
        return 0
    warm_up_knowledge_base()
    serve(args, executor, log_setup)
    return 0


def warm_up_knowledge_base() -> None:
    """Load the served knowledge-base build and its encoder before accepting requests.

    Otherwise the first FAQ question after a start pays for loading the index and the encoder
    (seconds), while every request queued behind it waits: under load, a freshly started replica
    timed out action calls. ``/health`` answers only after this. A missing build is logged, not
    fatal: the FAQ action then says the knowledge base is unavailable.
    """
    from kernel.gc_freeze import frozen_after
    from knowledge_base.serving.runtime import KnowledgeBaseUnavailable, shared_knowledge_base

    try:
        # the loaded index and encoder leave the cyclic collector's walks (kernel/gc_freeze.py: 80 ms a full collection)
        frozen_after(lambda: shared_knowledge_base().matcher().match("你好"))
    except KnowledgeBaseUnavailable as error:
        logger.warning("kb.warm_up.unavailable %s", error)
    except Exception:
        logger.exception("kb.warm_up.failed")


if __name__ == "__main__":
    sys.exit(main())
