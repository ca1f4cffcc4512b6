"""What a job costs, in credits, by useapi.net's documented prices (for a batch's budget).

Music is priced per track by model (the create page's table); speech per
started block of characters by the model's ``credit_formula`` (live from
``GET speech/models``, else the documented 20 credits per 1,000 characters,
10 on the turbo models).
"""

from __future__ import annotations

import math
from typing import Final

from ._models import CreditFormula

__all__ = ["MUSIC_CREDITS", "music_credits", "speech_credits"]

MUSIC_CREDITS: Final = {"music-2.6": 40.0, "music-v1": 150.0, "lyria-3-pro-preview": 20.0}
_SPEECH_PER_1000: Final = {"speech-2.8-turbo": 10.0, "eleven-turbo-v2.5": 10.0}
_SPEECH_DEFAULT_PER_1000: Final = 20.0


def music_credits(model: str, reported: float | None = None) -> float:
    """A track's price: the model's, else the most a finished job reported, else the dearest."""
    known = MUSIC_CREDITS.get(model.lower())
    if known is not None:
        return known
    return reported if reported is not None else max(MUSIC_CREDITS.values())


def speech_credits(model: str, text: str, formula: CreditFormula | None = None) -> float:
    """A clip's price: ``unit_credits`` per started ``unit_characters`` of its text."""
    if formula is not None and formula.unit_characters and formula.unit_credits is not None:
        units = len(text) / formula.unit_characters
        return (math.ceil(units) if formula.round_up is not False else units) * formula.unit_credits
    per_1000 = _SPEECH_PER_1000.get(model.lower(), _SPEECH_DEFAULT_PER_1000)
    return math.ceil(len(text) / 1000 * per_1000)
