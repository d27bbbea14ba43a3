"""What one Transcribe call does, without gRPC: validate the request, run faster-whisper, shape
the result. service.py adapts it to the wire; tests of validation need no model.

The audio is mono signed 16-bit little-endian PCM at 16 kHz (what Whisper models take; the
caller resamples). It becomes float32 in [-1, 1) and goes to faster-whisper as an array, so
nothing touches a file or ffmpeg. Decoding options, and why:
  - word_timestamps=True: the product needs word times;
  - condition_on_previous_text=False: each chunk stands alone, and conditioning on earlier text
    is what makes Whisper repeat itself after a misrecognition;
  - vad_filter=True: the Silero VAD that ships inside faster-whisper (assets/silero_vad_v6.onnx,
    no download) drops non-speech first. Whisper otherwise "hears" words in silence or noise
    ("you", "Thank you."); faster-whisper maps word times back onto the original audio.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

SAMPLE_RATE = 16000
# Longest audio accepted, in seconds: one chunk is 10 s; 60 s bounds a call's CPU time and memory.
MAX_AUDIO_SECONDS = 60
MAX_AUDIO_BYTES = MAX_AUDIO_SECONDS * SAMPLE_RATE * 2


class TranscribeError(Exception):
    """A refusal with a stable code: INVALID_ARGUMENT (the request) or UNAVAILABLE (not ready)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class Word:
    text: str
    start_ms: int
    end_ms: int
    probability: float


@dataclass
class Result:
    text: str
    words: list[Word] = field(default_factory=list)
    language: str = ""
    language_probability: float = 0.0
    model: str = ""
    audio_ms: int = 0


def validate(pcm: bytes, sample_rate: int, language: str, multilingual: bool) -> None:
    """Raises TranscribeError(INVALID_ARGUMENT) with a message a developer can act on."""
    if sample_rate != SAMPLE_RATE:
        raise TranscribeError("INVALID_ARGUMENT", f"sample_rate must be {SAMPLE_RATE} (mono s16le at 16 kHz; resample first), got {sample_rate}")
    if len(pcm) % 2:
        raise TranscribeError("INVALID_ARGUMENT", f"pcm_s16le must hold whole 16-bit samples (an even byte length), got {len(pcm)} bytes")
    if len(pcm) > MAX_AUDIO_BYTES:
        raise TranscribeError("INVALID_ARGUMENT", f"audio is {len(pcm) / 2 / SAMPLE_RATE:.2f} s; at most {MAX_AUDIO_SECONDS} s ({MAX_AUDIO_BYTES} bytes) per call")
    if language:
        if not re.fullmatch(r"[a-z]{2,3}", language):
            raise TranscribeError("INVALID_ARGUMENT", f"language must be a lowercase language code such as en, got {language!r}")
        if not multilingual and language != "en":
            raise TranscribeError("INVALID_ARGUMENT", f"the model is English-only; language must be en or empty, got {language!r}")


def to_float32(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def _ms(seconds: float, audio_ms: int) -> int:
    return max(0, min(audio_ms, int(round(seconds * 1000))))


class Engine:
    """One loaded model. Calls are serialised: CTranslate2 already uses every configured thread
    for one call, and two at once would only each take twice as long."""

    def __init__(self, model: Any, name: str, compute_type: str, beam_size: int, default_language: Optional[str]):
        self._model = model
        self._lock = threading.Lock()
        self.name = f"faster-whisper {name} {compute_type}"
        self.beam_size = beam_size
        self.default_language = default_language
        # tiny.en and the other *.en models are English-only; a multilingual model can detect.
        self.multilingual = bool(model.model.is_multilingual)

    @classmethod
    def load(cls, model_dir: str, name: str, threads: int, compute_type: str, beam_size: int, default_language: Optional[str]) -> "Engine":
        from faster_whisper import WhisperModel

        model = WhisperModel(model_dir, device="cpu", compute_type=compute_type, cpu_threads=threads, num_workers=1, local_files_only=True)
        return cls(model, name, compute_type, beam_size, default_language)

    def transcribe(self, pcm: bytes, sample_rate: int, language: str = "") -> Result:
        validate(pcm, sample_rate, language, self.multilingual)
        audio_ms = len(pcm) // 2 * 1000 // SAMPLE_RATE
        lang = language or self.default_language
        if not self.multilingual:
            lang = "en"
        if len(pcm) == 0:
            return Result(text="", language=lang or "", language_probability=1.0 if lang else 0.0, model=self.name)
        audio = to_float32(pcm)
        with self._lock:
            segments, info = self._model.transcribe(
                audio,
                language=lang,
                beam_size=self.beam_size,
                word_timestamps=True,
                condition_on_previous_text=False,
                vad_filter=True,
            )
            segments = list(segments)  # decoding happens while the generator is consumed
        words: list[Word] = []
        for seg in segments:
            for w in seg.words or []:
                start, end = _ms(w.start, audio_ms), _ms(w.end, audio_ms)
                words.append(Word(text=w.word.strip(), start_ms=start, end_ms=max(start, end), probability=float(w.probability)))
        words = [w for w in words if w.text]
        text = "".join(seg.text for seg in segments).strip()
        return Result(
            text=text,
            words=words,
            language=info.language,
            language_probability=1.0 if lang else float(info.language_probability),
            model=self.name,
            audio_ms=audio_ms,
        )
