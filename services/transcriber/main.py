"""The transcriber's entry point, the only module that wires: config, logger, gRPC server (health
NOT_SERVING at first), the ops port, then the model; health turns SERVING once it has loaded.

SIGTERM/SIGINT: readiness and health turn NOT_SERVING, the server stops accepting calls, calls in
flight get up to SHUTDOWN_GRACE_S to finish, then the process exits 0.

    python services/transcriber/main.py        (environment: see config.py / README.md)
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

# Nothing may reach a model hub: the weights are local files (TRANSCRIBER_MODEL_DIR).
os.environ["HF_HUB_OFFLINE"] = "1"

import config as config_module  # noqa: E402
from jsonlog import Logger  # noqa: E402

# Longest a call in flight may still run after SIGTERM, in seconds (a 60 s call on 2 threads takes
# a few seconds; k8s terminationGracePeriodSeconds must exceed this).
SHUTDOWN_GRACE_S = 25


def main() -> int:
    try:
        cfg = config_module.load(os.environ)
    except config_module.ConfigError as e:
        Logger({"service": "transcriber"}).error("invalid configuration", problems=e.problems)
        return 2
    log = Logger({"service": "transcriber"}, level=cfg.log_level)

    from grpc_health.v1 import health

    from engine import Engine
    from ops import start_ops_server
    from service import Transcriber, build_server, load_contract, set_serving

    messages, services = load_contract()
    servicer = Transcriber(messages, log)
    health_servicer = health.HealthServicer()
    set_serving(health_servicer, False)
    server, port = build_server(cfg.host, cfg.port, cfg.internal_token, messages, services, servicer, health_servicer, log)
    server.start()
    ops = start_ops_server(cfg.host, cfg.ops_port, ready=lambda: servicer.engine is not None and not servicer.stopping)
    log.info("listening", grpc_port=port, ops_port=cfg.ops_port, host=cfg.host)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    t0 = time.monotonic()
    try:
        engine = Engine.load(str(cfg.model_dir), cfg.model_name, cfg.threads, cfg.compute_type, cfg.beam_size, cfg.language)
    except Exception as e:  # noqa: BLE001: a model that does not load is fatal; say why once
        log.error("model failed to load", model_dir=str(cfg.model_dir), err=e)
        server.stop(0)
        return 1
    servicer.engine = engine
    set_serving(health_servicer, True)
    log.info(
        "model loaded",
        model=engine.name,
        model_dir=str(cfg.model_dir),
        threads=cfg.threads,
        beam_size=cfg.beam_size,
        language=cfg.language or "auto",
        load_ms=round((time.monotonic() - t0) * 1000),
    )

    stop.wait()
    log.info("stopping", grace_s=SHUTDOWN_GRACE_S)
    servicer.stopping = True
    set_serving(health_servicer, False)
    # server.stop refuses new calls at once and lets running ones finish until the grace ends.
    server.stop(SHUTDOWN_GRACE_S).wait()
    ops.shutdown()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
