"""Upload sessions in Redis, shared by server processes on any number of machines.

Each session is a string key holding its snapshot (``session.to_snapshot()`` as JSON);
each upload's parts are a hash from first byte to bytes. A process ``WATCH``es the
session key, reads the session, lets the model decide, and writes the next session and
the part's bytes in one ``MULTI``/``EXEC``. If another process changed the session in
between, ``EXEC`` does nothing and redis-py raises ``WatchError``: the process reads
again and decides again, and a part whose bytes another process already stored is then
refused with InvalidLayerPartException, as ECR refuses a re-sent part. (Here ``WATCH``
compares the whole key, so the snapshot's ``revision`` is not needed for the swap.)

Use it with a client made with ``redis.Redis(host=..., port=...)`` (responses as bytes).
"""

from __future__ import annotations

import json

import redis

from ecr_upload_model import (
    UploadId,
    UploadLayerPartRequest,
    UploadLayerPartResponse,
    UploadNotFoundException,
    UploadSession,
)


class RedisSessionStore:
    """Sessions and their parts' bytes in Redis, under keys that start with ``prefix``."""

    def __init__(self, client: redis.Redis, *, prefix: str = "ecr-upload") -> None:
        self.client = client
        self.prefix = prefix

    def session_key(self, upload_id: UploadId) -> str:
        return f"{self.prefix}:session:{upload_id}"

    def parts_key(self, upload_id: UploadId) -> str:
        return f"{self.prefix}:parts:{upload_id}"

    def create(self, session: UploadSession) -> bool:
        """Stores a new session; False if the upload id is already stored."""
        snapshot = json.dumps(session.to_snapshot())
        return bool(self.client.set(self.session_key(session.upload_id), snapshot, nx=True))

    def load(
        self, upload_id: UploadId, *, reader: redis.Redis | None = None
    ) -> UploadSession | None:
        """The stored session, or None; read through ``reader`` (a watching pipeline)."""
        snapshot = (reader or self.client).get(self.session_key(upload_id))
        return None if snapshot is None else UploadSession.from_snapshot(json.loads(snapshot))

    def parts(self, upload_id: UploadId) -> list[tuple[int, bytes]]:
        """The stored parts of an upload, ``(first byte, bytes)`` in byte order."""
        parts = []
        for first_byte, data in self.client.hgetall(self.parts_key(upload_id)).items():
            assert isinstance(data, bytes), "the store needs a client with decode_responses=False"
            parts.append((int(first_byte), data))
        return sorted(parts)


def upload_layer_part(
    store: RedisSessionStore, request: UploadLayerPartRequest
) -> UploadLayerPartResponse:
    """Answers one UploadLayerPart for an upload that other processes may be writing to.

    Raises what the session raises (InvalidLayerPartException, ...), and
    UploadNotFoundException for an upload the store does not hold.
    """
    session_key = store.session_key(request.upload_id)
    with store.client.pipeline() as pipe:
        while True:
            # EXEC below does nothing if another client changes the session after this.
            pipe.watch(session_key)  # type: ignore[no-untyped-call]  # redis-py leaves it bare
            session = store.load(request.upload_id, reader=pipe)
            if session is None:
                raise UploadNotFoundException(f"Upload '{request.upload_id}' is not found")
            following, response = session.upload_part(request)
            pipe.multi()
            pipe.set(session_key, json.dumps(following.to_snapshot()))
            pipe.hset(
                store.parts_key(request.upload_id),
                str(request.part_first_byte),
                bytes(request.layer_part_blob),
            )
            try:
                pipe.execute()
            except redis.WatchError:
                # Another process changed the upload after we read it: decide again on
                # what it holds now.
                continue
            return response
