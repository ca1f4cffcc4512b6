"""The blocking surface is the async one: the same public methods with the same parameters."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import pixverse_audio as pa
from pixverse_audio.emulator import Emulator

PAIRS = [
    (pa.AsyncClient, pa.Client),
    (pa.MusicAPI, pa.SyncMusicAPI),
    (pa.SpeechAPI, pa.SyncSpeechAPI),
    (pa.MinimaxMusicAPI, pa.SyncMinimaxMusicAPI),
    (pa.SchedulerAPI, pa.SyncSchedulerAPI),
    (pa.FilesAPI, pa.SyncFilesAPI),
    (pa.AccountsAPI, pa.SyncAccountsAPI),
]
RENAMED = {"aclose": "close"}  # the async name -> the blocking one
NAMESPACES = ["music", "speech", "minimax", "scheduler", "files", "accounts"]


def methods(cls: type) -> dict[str, Any]:
    """Public callables of ``cls`` by name, properties left out."""
    found = {}
    for name in dir(cls):
        if name.startswith("_"):
            continue
        value = inspect.getattr_static(cls, name)
        if isinstance(value, property):
            continue
        found[RENAMED.get(name, name)] = getattr(cls, name)
    return found


def parameters(function: Any) -> list[tuple[str, Any, Any, Any]]:
    """Each parameter's name, kind, default and annotation, ``self`` dropped."""
    signature = inspect.signature(function)
    return [
        (p.name, p.kind, p.default, p.annotation)
        for p in signature.parameters.values()
        if p.name != "self"
    ]


@pytest.mark.parametrize(("async_cls", "sync_cls"), PAIRS, ids=lambda cls: cls.__name__)
def test_same_methods_with_the_same_parameters(async_cls: type, sync_cls: type) -> None:
    """Every public async method has a blocking twin taking exactly its parameters."""
    async_methods, sync_methods = methods(async_cls), methods(sync_cls)
    assert sorted(async_methods) == sorted(sync_methods)
    for name, function in async_methods.items():
        assert parameters(sync_methods[name]) == parameters(function), name


def test_the_constructor_takes_the_async_clients_arguments_and_the_backend() -> None:
    """Client(...) takes AsyncClient's arguments, same defaults, then backend settings."""
    async_parameters = parameters(pa.AsyncClient.__init__)
    sync_parameters = parameters(pa.Client.__init__)
    assert sync_parameters[: len(async_parameters)] == async_parameters
    assert [name for name, *_ in sync_parameters[len(async_parameters) :]] == [
        "backend",
        "backend_options",
    ]


def test_the_same_properties_and_namespaces() -> None:
    """base_url, retry, poll, and the six namespaces (minimax with its music)."""
    for name in ("base_url", "retry", "poll"):
        assert isinstance(inspect.getattr_static(pa.Client, name), property)
    client = Emulator().blocking_client()
    try:
        for name in NAMESPACES:
            assert type(getattr(client, name)).__name__ == "Sync" + type(
                getattr(client._async, name)
            ).__name__.replace("Engine", "")
        assert isinstance(client.minimax.music, pa.SyncMinimaxMusicAPI)
    finally:
        client.close()


def test_blocking_methods_are_documented_from_their_async_twin() -> None:
    """help() shows the async method's documentation and its real parameters."""
    doc = inspect.getdoc(pa.SyncMusicAPI.generate)
    assert doc is not None
    assert doc.startswith("The blocking form of ``MusicAPI.generate``")
    assert "Create a job and wait for its result" in doc
    assert "prompt" in inspect.signature(pa.SyncMusicAPI.generate).parameters


@pytest.mark.parametrize(
    ("async_cls", "sync_cls"),
    [(pa.Batch, pa.SyncBatch), (pa.AudioStream, pa.SyncAudioStream)],
    ids=lambda cls: cls.__name__,
)
def test_batches_and_streams_offer_the_same_public_names(async_cls: type, sync_cls: type) -> None:
    """Every public property and method of Batch and AudioStream (and the attributes they
    set) is on the blocking twin; only the async protocol differs."""
    public = {name for name in dir(async_cls) if not name.startswith("_")}
    documented = {"busy"} if async_cls is pa.Batch else {"total", "received", "resumed_at"}
    assert (public | documented) - set(dir(sync_cls)) == set()


def test_an_adapter_refuses_a_method_of_the_wrong_kind() -> None:
    """iterating() takes async generators only, blocking() coroutines only."""
    from pixverse_audio._blocking import blocking, iterating

    with pytest.raises(TypeError):
        iterating(pa.MusicAPI.get)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        blocking(pa.MusicAPI.list)  # type: ignore[arg-type]
