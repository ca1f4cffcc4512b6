"""pixverse_audio: an async client for useapi.net's PixVerse v2 music and speech API.

Works on asyncio and trio (through anyio)::

    from pixverse_audio import AsyncClient

    async with AsyncClient() as client:  # token from $USEAPI_TOKEN
        job = await client.music.create("upbeat synthwave with a female vocal")
        track = await client.music.get(job.audio_id)

`Client` is the same client, blocking, for scripts, notebooks and threads::

    with Client() as client:
        track = client.music.generate("upbeat synthwave with a female vocal")

Every public name is listed in ``__all__``; everything else is private and may
change in any release. The exception hierarchy is drawn in
`pixverse_audio.PixverseAudioError`'s module documentation (``_errors``).
"""

from typing import Any as _Any

from ._audio_api import MusicAPI, SpeechAPI
from ._batch import Batch
from ._blocking import SyncAudioStream, SyncBatch, SyncIterator
from ._cadence import PollPolicy
from ._callbacks import parse_callback
from ._client import AsyncClient
from ._download import AudioStream
from ._errors import (
    AccountError,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BudgetError,
    BusyError,
    ConfigurationError,
    DownloadError,
    GenerationFailedError,
    InsufficientCreditsError,
    JournalError,
    LimiterError,
    ModerationError,
    NotFoundError,
    OutcomeUnknownError,
    PaymentRequiredError,
    PixverseAudioError,
    ResponseFormatError,
    ServerError,
    SubscriptionExpiredError,
    ValidationError,
    WaitTimeoutError,
)
from ._jobs import GenerationResult, JobEvent
from ._models import (
    Account,
    AccountAvailability,
    AudioStatus,
    Availability,
    CreditFormula,
    Job,
    MinimaxSong,
    MinimaxStatus,
    Page,
    ProviderGroup,
    ScheduledJob,
    SpeechClip,
    SpeechModel,
    SpeechModels,
    Track,
    UploadedFile,
    Voice,
)
from ._redis_limiter import RedisLimiter, SlotUsage
from ._requests import MusicRequest, SpeechRequest
from ._resources import AccountsAPI, FilesAPI, MinimaxAPI, MinimaxMusicAPI, SchedulerAPI
from ._retry import RetryPolicy
from ._sync_client import (
    Client,
    SyncAccountsAPI,
    SyncFilesAPI,
    SyncMinimaxAPI,
    SyncMinimaxMusicAPI,
    SyncMusicAPI,
    SyncSchedulerAPI,
    SyncSpeechAPI,
)

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "Account",
    "AccountAvailability",
    "AccountError",
    "AccountsAPI",
    "AsyncClient",
    "AudioStatus",
    "AudioStream",
    "AuthenticationError",
    "Availability",
    "BadRequestError",
    "Batch",
    "BudgetError",
    "BusyError",
    "Client",
    "ConfigurationError",
    "CreditFormula",
    "DownloadError",
    "FilesAPI",
    "GenerationFailedError",
    "GenerationResult",
    "InsufficientCreditsError",
    "Job",
    "JobEvent",
    "JournalError",
    "LimiterError",
    "MinimaxAPI",
    "MinimaxMusicAPI",
    "MinimaxSong",
    "MinimaxStatus",
    "ModerationError",
    "MusicAPI",
    "MusicRequest",
    "NotFoundError",
    "OutcomeUnknownError",
    "Page",
    "PaymentRequiredError",
    "PixverseAudioError",
    "PollPolicy",
    "ProviderGroup",
    "RedisLimiter",
    "ResponseFormatError",
    "RetryPolicy",
    "ScheduledJob",
    "SchedulerAPI",
    "ServerError",
    "SlotUsage",
    "SpeechAPI",
    "SpeechClip",
    "SpeechModel",
    "SpeechModels",
    "SpeechRequest",
    "SubscriptionExpiredError",
    "SyncAccountsAPI",
    "SyncAudioStream",
    "SyncBatch",
    "SyncFilesAPI",
    "SyncIterator",
    "SyncMinimaxAPI",
    "SyncMinimaxMusicAPI",
    "SyncMusicAPI",
    "SyncSchedulerAPI",
    "SyncSpeechAPI",
    "Track",
    "UploadedFile",
    "ValidationError",
    "Voice",
    "WaitTimeoutError",
    "parse_callback",
]


def _set_public_module() -> None:
    # Reprs and docs say pixverse_audio.Track, not pixverse_audio._models.Track.
    for name in __all__:
        obj = globals()[name]
        if isinstance(obj, type) or callable(obj):
            obj.__module__ = __name__


_set_public_module()


def __getattr__(name: str) -> _Any:
    if name == "__version__":  # lazy, so it stays out of __all__ and star imports
        from ._version import __version__

        return __version__
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
