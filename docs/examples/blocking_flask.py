"""A Flask app generating jingles: one blocking Client shared by every request thread."""

from __future__ import annotations

import atexit

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

from pixverse_audio import Client, GenerationFailedError, ValidationError, WaitTimeoutError

# --8<-- [start:app]
app = Flask(__name__)
client = Client()  # one per process: its threads share the pool and the accounts' slots
atexit.register(client.close)


@app.post("/jingles")
def create_jingle() -> ResponseReturnValue:
    prompt = (request.get_json(silent=True) or {}).get("prompt", "")
    try:
        track = client.music.generate(prompt, instrumental=True, timeout=120)
    except ValidationError as exc:  # refused before anything was sent or paid
        return jsonify(error=str(exc)), 400
    except (GenerationFailedError, WaitTimeoutError) as exc:
        return jsonify(error=str(exc)), 502
    return jsonify(audio_id=track.audio_id, url=track.url, seconds=track.duration), 201


# --8<-- [end:app]

if __name__ == "__main__":
    with app.test_client() as http:  # `flask --app blocking_flask run` serves it for real
        print(http.post("/jingles", json={"prompt": "a ukulele jingle for a bakery"}).json)
