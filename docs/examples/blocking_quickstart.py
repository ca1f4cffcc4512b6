"""The blocking client in three lines: one track, saved to the current directory."""

from pixverse_audio import Client

with Client() as client:
    print(client.download(client.music.generate("a calm piano piece"), "."))
