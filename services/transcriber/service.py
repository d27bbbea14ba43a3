"""The gRPC side of the transcriber: media.v1.TranscriberService over engine.py, the internal-token
interceptor, grpc.health.v1, and the metrics every outcome is counted in.

The contract is loaded from proto/media/v1/transcriber.proto when the process starts
(grpc.protos_and_services, grpcio-tools' runtime protoc), so there is no generated Python code to
go stale beside the ts-proto output. The include root is the repository's proto/ folder, found
relative to this file; the Docker image keeps the same layout.

Errors leave the way services/shared/grpc.ts `toGrpcError` sends them: a gRPC status plus the
Candid error code in the `candid-error-code` trailer, so the TypeScript client's `fromGrpcError`
gets the same AppError back:
  INVALID_ARGUMENT + INVALID_MESSAGE      a request that can never succeed (its message says why)
  UNAVAILABLE      + UPSTREAM_UNAVAILABLE the model is still loading, or the server is stopping
  UNAUTHENTICATED  + INTERNAL_TOKEN_INVALID  no or wrong internal token (the TS text, verbatim)
  INTERNAL         + INTERNAL             anything else: logged once here, its text not sent
"""

from __future__ import annotations

import hashlib
import hmac
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from prometheus_client import Counter, Histogram, disable_created_metrics

from engine import Engine, TranscribeError
from jsonlog import Logger

PROTO_ROOT = Path(__file__).resolve().parent.parent.parent / "proto"
PROTO_FILE = "media/v1/transcriber.proto"
SERVICE_NAME = "media.v1.TranscriberService"

ERROR_CODE_KEY = "candid-error-code"
INTERNAL_AUTH_KEY = "authorization"
OPEN_SERVICE_PREFIX = "/grpc.health.v1.Health/"
# proto/wire/errors.ts INTERNAL_TOKEN_INVALID's description: what the TS servers send.
TOKEN_REFUSED_MESSAGE = (
    "An internal gRPC call arrived without the internal token (CANDID_INTERNAL_TOKEN), or with a wrong one; "
    "the gateway and the reaper treat it as INTERNAL (a misconfiguration, never sent to a browser)."
)

# 60 s of 16 kHz s16le is 1.92 MB; a little over 2 MiB leaves room for framing, and anything larger
# is refused by gRPC itself (RESOURCE_EXHAUSTED) before it is buffered.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024

# The *_created series say only when the process started; process_start_time_seconds does that.
disable_created_metrics()

OUTCOMES = ("ok", "invalid_argument", "unauthenticated", "unavailable", "cancelled", "internal")

REQUESTS = Counter("candid_transcriber_requests", "Transcribe calls by outcome.", ["outcome"])
for _o in OUTCOMES:
    REQUESTS.labels(_o)
DURATION = Histogram(
    "candid_transcriber_request_duration_seconds",
    "Time to answer one Transcribe call (validation, waiting for the model, decoding).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
)
AUDIO_SECONDS = Counter("candid_transcriber_audio_seconds", "Seconds of audio transcribed (successful calls).")


def load_contract() -> tuple[Any, Any]:
    """(messages module, services module) of transcriber.proto, compiled in memory."""
    root = str(PROTO_ROOT)
    if root not in sys.path:
        sys.path.insert(0, root)  # protos_and_services resolves imports against sys.path
    return grpc.protos_and_services(PROTO_FILE)


def _abort(context: grpc.ServicerContext, status: grpc.StatusCode, code: str, message: str) -> None:
    context.set_trailing_metadata(((ERROR_CODE_KEY, code),))
    context.abort(status, message)


class TokenInterceptor(grpc.ServerInterceptor):
    """Refuses every call but grpc.health.v1 unless its `authorization` metadata is exactly
    `Bearer <token>`; the handler never runs. Both sides are hashed before a constant-time
    compare, as in grpc.ts, so timing tells nothing about length or content. The presented value
    is never logged."""

    def __init__(self, token: str, log: Logger):
        self._expected = hashlib.sha256(f"Bearer {token}".encode()).digest()
        self._log = log

        def refuse(_request: Any, context: grpc.ServicerContext) -> None:
            REQUESTS.labels("unauthenticated").inc()
            _abort(context, grpc.StatusCode.UNAUTHENTICATED, "INTERNAL_TOKEN_INVALID", TOKEN_REFUSED_MESSAGE)

        # No deserializer: a refused call's message is never parsed.
        self._refusal = grpc.unary_unary_rpc_method_handler(refuse)

    def _valid(self, metadata: tuple) -> bool:
        values = [v for k, v in (metadata or ()) if k == INTERNAL_AUTH_KEY]
        if len(values) != 1 or not isinstance(values[0], str):
            return False
        return hmac.compare_digest(hashlib.sha256(values[0].encode()).digest(), self._expected)

    def intercept_service(self, continuation: Callable, details: grpc.HandlerCallDetails) -> Optional[grpc.RpcMethodHandler]:
        if details.method.startswith(OPEN_SERVICE_PREFIX) or self._valid(details.invocation_metadata):
            return continuation(details)
        self._log.warn("call refused: internal token missing or wrong", method=details.method)
        return self._refusal


class Transcriber:
    """The servicer. `engine` is None until the model has loaded (calls get UNAVAILABLE)."""

    def __init__(self, messages: Any, log: Logger):
        self._pb = messages
        self._log = log
        self.engine: Optional[Engine] = None
        self.stopping = False

    def Transcribe(self, request: Any, context: grpc.ServicerContext) -> Any:
        started = time.monotonic()
        size = len(request.pcm_s16le)
        outcome = "internal"
        try:
            if self.engine is None or self.stopping:
                raise TranscribeError("UNAVAILABLE", "the model is loading" if self.engine is None else "the transcriber is stopping")
            result = self.engine.transcribe(request.pcm_s16le, request.sample_rate, request.language)
            if not context.is_active():  # the caller gave up (deadline, cancel) while we decoded
                outcome = "cancelled"
                return self._pb.TranscribeResponse()
            response = self._pb.TranscribeResponse(
                text=result.text,
                words=[self._pb.TranscribedWord(text=w.text, start_ms=w.start_ms, end_ms=w.end_ms, probability=w.probability) for w in result.words],
                language=result.language,
                language_probability=result.language_probability,
                model=result.model,
            )
            outcome = "ok"
            AUDIO_SECONDS.inc(result.audio_ms / 1000)
            self._log.info(
                "transcribed",
                pcm_bytes=size,
                audio_ms=result.audio_ms,
                words=len(result.words),
                language=result.language,
                duration_ms=round((time.monotonic() - started) * 1000),
            )
            return response
        except TranscribeError as e:
            # (context.abort raises to unwind the handler; a raise inside an except clause is not
            # caught by the clauses beside it.)
            if e.code == "INVALID_ARGUMENT":
                outcome = "invalid_argument"
                self._log.info("transcribe refused", pcm_bytes=size, sample_rate=request.sample_rate, reason=str(e))
                _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_MESSAGE", str(e))
            outcome = "unavailable"
            _abort(context, grpc.StatusCode.UNAVAILABLE, "UPSTREAM_UNAVAILABLE", str(e))
        except Exception as e:  # noqa: BLE001: unknown failures are logged once, here, and never sent
            self._log.error("internal error", pcm_bytes=size, err=e)
            _abort(context, grpc.StatusCode.INTERNAL, "INTERNAL", "internal error")
        finally:
            REQUESTS.labels(outcome).inc()
            DURATION.observe(time.monotonic() - started)


def build_server(cfg_host: str, port: int, token: str, messages: Any, services: Any, servicer: Transcriber, health_servicer: health.HealthServicer, log: Logger) -> tuple[grpc.Server, int]:
    from concurrent import futures

    server = grpc.server(
        # Calls queue on the engine's lock; a few threads keep health checks and refusals answered
        # while one call decodes.
        futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="grpc"),
        interceptors=[TokenInterceptor(token, log)],
        options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES), ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)],
        maximum_concurrent_rpcs=32,
    )
    services.add_TranscriberServiceServicer_to_server(servicer, server)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    bound = server.add_insecure_port(f"{cfg_host}:{port}")
    if bound == 0:
        raise OSError(f"cannot bind {cfg_host}:{port}")
    return server, bound


def set_serving(h: health.HealthServicer, serving: bool) -> None:
    status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
    for name in ("", SERVICE_NAME):
        h.set(name, status)
