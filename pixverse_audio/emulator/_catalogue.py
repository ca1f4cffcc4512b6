"""The emulator's fixed catalogues: music models, speech models and voices.

Numbers are the documented ones (prompt limits, credits, speech limits and
billing); voices are invented but shaped like the documented fields.
"""

from __future__ import annotations

import math
import random
from typing import Any, Final

import attrs

__all__ = [
    "MUSIC_MODELS",
    "SPEECH_MODELS",
    "UPLOAD_EXTENSIONS",
    "VOICES",
    "MusicModel",
    "SpeechModel",
    "Voice",
    "minimax_songs_catalogue",
]


@attrs.frozen
class MusicModel:
    name: str
    provider: str
    prompt_max: int
    lyrics: bool
    images: bool
    credits: int


MUSIC_MODELS: Final = {
    m.name: m
    for m in (
        MusicModel("music-2.6", "minimax", 2000, lyrics=True, images=False, credits=40),
        MusicModel("music-v1", "elevenlabs", 4000, lyrics=True, images=False, credits=150),
        MusicModel("lyria-3-pro-preview", "google", 5000, lyrics=False, images=True, credits=20),
    )
}
DEFAULT_MUSIC_MODEL: Final = "music-2.6"


@attrs.frozen
class SpeechModel:
    name: str
    display_name: str
    provider: str
    max_characters: int
    unit_characters: int  # characters billed as unit_credits (documented: 50 per credit)
    languages: tuple[str, ...]
    speed: tuple[float, float]
    unit_credits: int = 1
    accepts_language_code: bool = True  # eleven-v3 detects the language itself

    def credits_for(self, text: str) -> int:
        """The documented credit formula: ``unit_credits`` per started ``unit_characters``."""
        return math.ceil(len(text) / self.unit_characters) * self.unit_credits

    def wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.name,
            "display_name": self.display_name,
            "provider": self.provider,
            "max_characters": self.max_characters,
            "supported_language_codes": list(self.languages),
            "credit_formula": {
                "unit_characters": self.unit_characters,
                "unit_credits": self.unit_credits,
                "round_up": True,
            },
        }
        if self.provider == "minimax":
            body["emotions"] = sorted(EMOTIONS)
        return body


# "auto" first, as the documented catalogue lists it.
_LANGS: Final = ("auto", "en", "es", "fr", "de", "it", "pt", "ja", "ko", "zh")
EMOTIONS: Final = frozenset(
    {"auto", "happy", "sad", "angry", "fearful", "disgusted", "surprised", "neutral", "calm"}
)
# 20 credits per 1,000 characters is 1 per 50; the turbo models' 10 per 1,000, 1 per 100.
SPEECH_MODELS: Final = {
    m.name: m
    for m in (
        SpeechModel("speech-2.8-hd", "Speech 2.8 HD", "minimax", 10_000, 50, _LANGS, (0.5, 2)),
        SpeechModel(
            "speech-2.8-turbo", "Speech 2.8 Turbo", "minimax", 10_000, 100, _LANGS, (0.5, 2)
        ),
        SpeechModel(
            "eleven-multilingual-v2",
            "Eleven Multilingual v2",
            "elevenlabs",
            10_000,
            50,
            _LANGS,
            (0.7, 1.2),
        ),
        SpeechModel(
            "eleven-v3",
            "Eleven v3",
            "elevenlabs",
            5_000,
            50,
            _LANGS,
            (0.7, 1.2),
            accepts_language_code=False,
        ),
        SpeechModel(
            "eleven-turbo-v2.5", "Eleven Turbo v2.5", "elevenlabs", 40_000, 100, _LANGS, (0.7, 1.2)
        ),
    )
}
DEFAULT_SPEECH_MODEL: Final = "speech-2.8-hd"


def speech_models_body() -> dict[str, Any]:
    """The GET speech/models body."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for model in SPEECH_MODELS.values():
        groups.setdefault(model.provider, []).append(model.wire())
    return {
        "default_model": DEFAULT_SPEECH_MODEL,
        "provider_groups": [
            {"provider": provider, "models": models} for provider, models in groups.items()
        ],
    }


@attrs.frozen
class Voice:
    voice_id: str
    display_name: str
    provider: str
    gender: str
    age: str
    accent: str
    languages: tuple[str, ...]
    style_tags: tuple[str, ...] = ()

    def wire(self) -> dict[str, Any]:
        """One voice as GET speech/voices documents it."""
        models = [m.name for m in SPEECH_MODELS.values() if m.provider == self.provider]
        native = self.voice_id.split("_", 1)[1] if "_" in self.voice_id else self.voice_id
        return {
            "voice_id": self.voice_id,
            "provider_voice_id": native[:1].upper() + native[1:],
            "display_name": self.display_name,
            "provider": self.provider,
            "gender": self.gender,
            "age": self.age,
            "accent": self.accent,
            "style_tags": list(self.style_tags),
            "recommended_languages": list(self.languages),
            "preview_url": f"https://media.pixverse.ai/voices/{self.voice_id}.mp3",
            "compatible_models": models,
        }


def _voices() -> dict[str, Voice]:
    names = ("Radiant Girl", "Calm Narrator", "Deep Baritone", "Bright Host", "Warm Storyteller")
    genders = ("female", "male")
    ages = ("young", "middle_aged", "old")
    accents = ("american", "british", "australian", "")
    tags = (("bright", "warm"), ("calm",), ("deep", "resonant"), ("lively",), ("warm",))
    out: dict[str, Voice] = {}
    for provider, prefix, count in (("minimax", "minimax_english", 60), ("elevenlabs", "el", 40)):
        for i in range(count):
            base = names[i % len(names)]
            slug = base.lower().replace(" ", "_")
            voice_id = f"{prefix}_{slug}" if i < len(names) else f"{prefix}_{slug}_{i}"
            display = base if i < len(names) else f"{base} {i}"
            out[voice_id] = Voice(
                voice_id,
                display,
                provider,
                genders[i % 2],
                ages[i % 3],
                accents[i % 4],
                ("en",) if i % 3 else ("en", "es"),
                tags[i % len(tags)],
            )
    return out


VOICES: Final = _voices()


# The documented file extension of each upload type.
UPLOAD_EXTENSIONS: Final = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/3gpp": "3gp",
    "video/x-matroska": "mkv",
    "video/x-flv": "flv",
    "video/mpeg": "mpeg",
    "video/mp2t": "ts",
    "video/x-msvideo": "avi",
    "video/x-motion-jpeg": "mjpeg",
    "video/webm": "webm",
    "video/ogg": "ogv",
    "audio/wav": "wav",
    "audio/wave": "wav",
    "audio/mpeg": "mp3",
}


def minimax_songs_catalogue(count: int, seed: int) -> list[dict[str, Any]]:
    """Legacy v1 songs, newest first; every 7th is moderated (status 4)."""
    rng = random.Random(f"{seed}:minimax")
    styles = ("Urban", "Popular", "Jazz", "Rock", "Lofi")
    songs = []
    for i in range(count, 0, -1):
        status = 4 if i % 7 == 0 else 0 if i == count else 1 if i == count - 1 else 2
        number = 123_456_000 + i
        songs.append(
            {
                "title": f"Song {i}",
                "lyrics": f"[verse]\nline {i}",
                "style": styles[i % len(styles)],
                "coverURL": f"https://minimax-public-cdn.com/music/final_v3/{number}.png",
                "audioURL": f"https://cdn.hailuoai.com/prod/2024-10-05-08/music/{number}.mp3",
                "status": status,
                "statusLabel": {0: "pending", 1: "processing", 2: "completed", 4: "moderated"}[
                    status
                ],
                "statusFinal": status in (2, 4),
                "createTime": 1_727_000_000_000 + i * 60_000,
                "duration": rng.randint(30, 59),
                "musicId": f"user:1000-minimax:minimax-account-music:{number}",
            }
        )
    return songs
