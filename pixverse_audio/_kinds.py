"""Music and speech as data: the few facts in which the two kinds of job differ.

Everything that handles jobs (the endpoints, the engine, the command line) is
written once over a `Kind`; nothing compares ``"music"`` with a string.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Generic, Literal, TypeVar

import attrs

from . import _sansio as sansio
from ._models import Page, SpeechClip, SpeechModels, Track
from ._protocol import Call, Reply
from ._requests import MusicRequest, SpeechRequest

__all__ = ["KINDS", "MUSIC", "SPEECH", "Kind", "kind_of_id", "kind_of_item"]

R = TypeVar("R", bound=MusicRequest | SpeechRequest)
O = TypeVar("O", bound=Track | SpeechClip)  # noqa: E741 - the output type


@attrs.frozen(eq=False)
class Kind(Generic[R, O]):
    """What differs between music and speech jobs.

    Attributes:
        name: ``music`` or ``speech``.
        noun: What one result is called (``track``, ``clip``).
        request_type: The request class (`MusicRequest`, `SpeechRequest`).
        result_type: The result class (`Track`, `SpeechClip`).
        marker: What its ids contain (``-music:``, ``-speech:``).
        default_timeout: Seconds a wait lasts by default.
        create: Builds the create call for a request on an account.
        get: Builds GET {kind}/{id}.
        list: Builds GET {kind}/?email=&limit=&offset=.
        parse: Reads one job.
        parse_page: Reads one page of the kind's list.
    """

    name: Literal["music", "speech"]
    noun: str
    request_type: type[R]
    result_type: type[O]
    marker: str
    default_timeout: float
    create: Callable[[R, str | None, SpeechModels | None], Call]
    get: Callable[[object], Call]
    list: Callable[..., Call]
    parse: Callable[[Reply], O]
    parse_page: Callable[[Reply, int], tuple[Page[O], int]]

    def text_of(self, request: R) -> str:
        """The words a request asks for (a prompt, or the text to speak)."""
        return request.text

    def __repr__(self) -> str:
        return f"<Kind {self.name}>"


def _music_create(request: MusicRequest, email: str | None, _: SpeechModels | None) -> Call:
    return sansio.music_create(request, email)


MUSIC: Final[Kind[MusicRequest, Track]] = Kind(
    name="music",
    noun="track",
    request_type=MusicRequest,
    result_type=Track,
    marker="-music:",
    default_timeout=1200.0,
    create=_music_create,
    get=sansio.music_get,
    list=sansio.music_list,
    parse=sansio.parse_track,
    parse_page=lambda reply, offset: sansio.parse_music_page(reply, offset=offset),
)
SPEECH: Final[Kind[SpeechRequest, SpeechClip]] = Kind(
    name="speech",
    noun="clip",
    request_type=SpeechRequest,
    result_type=SpeechClip,
    marker="-speech:",
    default_timeout=600.0,
    create=sansio.speech_create,
    get=sansio.speech_get,
    list=sansio.speech_list,
    parse=sansio.parse_speech_clip,
    parse_page=lambda reply, offset: sansio.parse_speech_page(reply, offset=offset),
)
KINDS: Final = (MUSIC, SPEECH)


def kind_of_id(audio_id: str) -> Kind[MusicRequest, Track] | Kind[SpeechRequest, SpeechClip]:
    """The kind of a job by its id (music unless it says speech)."""
    return SPEECH if SPEECH.marker in audio_id else MUSIC


def kind_of_item(
    item: Track | SpeechClip,
) -> Kind[MusicRequest, Track] | Kind[SpeechRequest, SpeechClip]:
    """The kind of a listed job."""
    return SPEECH if isinstance(item, SpeechClip) else MUSIC
