"""JSON bodies built from the emulator's own state, in the documented shapes.

Deliberately independent of the client's converter: the tests compare these
shapes with the documentation's samples, and the client parses them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from . import _audio
from ._state import COMPLETED, FAILED, GENERATING, QUEUED, EmulatedJob, EmulatorState

__all__ = ["create_body", "job_body", "page_body", "scheduled_body"]

_NAMES: Final = {
    QUEUED: "QUEUED",
    GENERATING: "GENERATING",
    COMPLETED: "COMPLETED",
    FAILED: "FAILED",
}
_RAW: Final = {QUEUED: "making", GENERATING: "making", COMPLETED: "finish", FAILED: "fail"}


def iso(moment: datetime) -> str:
    """``2026-06-23T12:34:56Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _mode(job: EmulatedJob) -> str:
    return "music" if job.kind == "music" else "voice"


def create_body(job: EmulatedJob) -> dict[str, Any]:
    """The 200 body of music/create and speech/create."""
    return {
        "audio_id": job.audio_id,
        "asset_id": job.asset_id,
        "asset_type": 2,
        "asset_source": 1,
        "create_mode": _mode(job),
        "status": "making",
        "audio_status": QUEUED,
        "credits": job.credits,
        "audio_status_name": "QUEUED",
        "audio_status_final": False,
    }


def media_path(job: EmulatedJob) -> str:
    """Where the finished MP3 is served below the media origin."""
    return f"/pixverse/audio/{job.kind}/{job.asset_id}.mp3"


def job_body(state: EmulatorState, job: EmulatedJob, *, reply_ref: bool = False) -> dict[str, Any]:
    """GET music/{id} or speech/{id} (and the callback body, with ``reply_ref``)."""
    now = state.now()
    status = job.status(now)
    body: dict[str, Any] = {
        "audio_id": job.audio_id,
        "asset_id": job.asset_id,
        "audio_status": status,
        "status": _RAW[status],
        "create_mode": _mode(job),
        "provider": job.provider,
        "model": job.model,
    }
    if job.kind == "music":
        body["prompt"] = job.prompt
        body["auto_lyrics"] = not job.fields.get("lyrics") and not job.fields.get("instrumental")
    else:
        voice = job.fields["voice"]
        body["voice_id"] = voice.voice_id
        body["voice_name"] = voice.display_name
        # Always present, as in the documented examples ("auto" when none was asked for).
        body["language_code"] = job.fields.get("language_code") or "auto"
        body["prompt"] = job.prompt
    if status == COMPLETED:
        prefix = "Music" if job.kind == "music" else "Speech"
        body.update(
            url=state.media_url + media_path(job),
            path=media_path(job).lstrip("/"),
            name=f"PixVerse_{prefix}_{job.asset_id}.mp3",
            duration=job.duration,
            file_size=job.file_size,
            format="mp3",
            sample_rate=_audio.SAMPLE_RATE,
            bitrate=_audio.BITRATE,
            channel=_audio.CHANNELS,
        )
    body["credits"] = job.credits
    body["created_at"] = iso(state.wall(job.created))
    body["updated_at"] = iso(state.wall(job.changed_at(now)))
    if status == FAILED:
        body["fail_code"] = f"{job.kind}_generation_failed"
        body["fail_reason"] = "Upstream provider error (emulated); re-submitting often succeeds."
    body["audio_status_name"] = _NAMES[status]
    body["audio_status_final"] = status in (COMPLETED, FAILED)
    if reply_ref and job.reply_ref is not None:
        body["replyRef"] = job.reply_ref
    return body


def page_body(
    state: EmulatorState, window: list[EmulatedJob], *, total: int, limit: int, offset: int
) -> dict[str, Any]:
    """A v2 list envelope; ``next_offset`` is ``offset + limit`` as in the docs' example."""
    return {
        "data": [job_body(state, job) for job in window],
        "next_offset": offset + limit,
        "has_more": offset + limit < total,
    }


def scheduled_body(state: EmulatorState, job: EmulatedJob) -> dict[str, Any]:
    """One item of GET scheduler/."""
    elapsed = max(0, int(state.now() - job.created))
    body: dict[str, Any] = {
        "id": job.audio_id,
        "type": job.kind,
        "started": iso(state.wall(job.created)),
        "elapsed": f"{elapsed // 60:02d}:{elapsed % 60:02d}",
    }
    if job.reply_url:
        body["replyUrl"] = job.reply_url
    if job.reply_ref:
        body["replyRef"] = job.reply_ref
    return body


def availability_body(state: EmulatorState) -> dict[str, Any]:
    """GET scheduler/available."""
    now = state.now()
    executing = [scheduled_body(state, job) for job in state.scheduled()]
    available = []
    for account in state.accounts.values():
        busy = state.running(account, now)
        available.append(
            {
                "email": account.email,
                "maxJobs": account.max_jobs,
                "executing": busy,
                "available": max(0, account.max_jobs - busy),
            }
        )
    return {"executing": executing, "available": available}


def account_body(state: EmulatorState, email: str) -> dict[str, Any]:
    """One item of GET accounts, and the body of GET/POST accounts/{email}.

    The password is never returned (the documented "…secured…" stands in).
    """
    account = state.account(email)
    return {
        "email": account.email,
        "maxJobs": account.max_jobs,
        "jwt": {
            "AccountId": account.account_id,
            "ExpireTime": 4102444800,
            "ExpireTimeUTC": "2100-01-01T00:00:00Z",
            "Username": email.split("@")[0],
            "token": "…secured…",
        },
        "password": "…secured…",
    }
