"""JSON lines on stdout, the same shape as services/shared/log.ts:
{"time": ISO-8601 with ms and Z, "level", "msg", "service": "transcriber", ...fields}.
Log ids, sizes and durations; never audio, transcript text or tokens.
"""

from __future__ import annotations

import json
import sys
import threading
import traceback
from datetime import datetime, timezone
from typing import Any, Callable, Optional

_RANK = {"debug": 10, "info": 20, "warn": 30, "error": 40}


def _error_fields(err: BaseException) -> dict[str, Any]:
    out: dict[str, Any] = {"name": type(err).__name__, "message": str(err)}
    tb = "".join(traceback.format_exception(type(err), err, err.__traceback__)).strip().splitlines()
    if len(tb) > 1:
        out["stack"] = "\n".join(tb[-6:])
    return out


class Logger:
    def __init__(self, base: dict[str, Any], level: str = "info", write: Optional[Callable[[str], None]] = None):
        self._base = base
        self._min = _RANK[level]
        self._write = write or self._stdout
        self._lock = threading.Lock()

    @staticmethod
    def _stdout(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def child(self, **fields: Any) -> "Logger":
        c = Logger({**self._base, **fields})
        c._min, c._write, c._lock = self._min, self._write, self._lock
        return c

    def _emit(self, level: str, msg: str, fields: dict[str, Any]) -> None:
        if _RANK[level] < self._min:
            return
        now = datetime.now(timezone.utc)
        rec: dict[str, Any] = {"time": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z", "level": level, "msg": msg, **self._base}
        for k, v in fields.items():
            rec[k] = _error_fields(v) if k == "err" and isinstance(v, BaseException) else v
        line = json.dumps(rec, default=str, separators=(",", ":"))
        with self._lock:
            self._write(line)

    def debug(self, msg: str, **fields: Any) -> None:
        self._emit("debug", msg, fields)

    def info(self, msg: str, **fields: Any) -> None:
        self._emit("info", msg, fields)

    def warn(self, msg: str, **fields: Any) -> None:
        self._emit("warn", msg, fields)

    def error(self, msg: str, **fields: Any) -> None:
        self._emit("error", msg, fields)
