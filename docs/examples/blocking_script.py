"""The blocking client, as in a notebook or a script: no async, no event loop to manage."""

from pathlib import Path

from pixverse_audio import Client, MusicRequest

# --8<-- [start:cells]
client = Client()  # the token comes from $USEAPI_TOKEN; in Jupyter too

track = client.music.generate("a bossa nova for a quiet cafe", instrumental=True)
print(track.audio_id, track.duration)
print("saved", client.download(track, Path(".")))

prompts = ["sea shanty, full choir", "chiptune boss fight", "lullaby on a music box"]
with client.music.generate_many([MusicRequest(prompt=p) for p in prompts]) as results:
    for result in results:  # in the order they finish; Ctrl-C releases the running jobs
        print(result.index, result.track.url if result.track else result.error)

# --8<-- [end:cells]
# --8<-- [start:options]
again = client.with_options(timeout=5).music.get(track.audio_id)
# --8<-- [end:options]
print(again.audio_id == track.audio_id)
# --8<-- [start:close]
client.close()  # or `with Client() as client:`
# --8<-- [end:close]
