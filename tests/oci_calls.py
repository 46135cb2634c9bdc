"""Calls to the /v2/ front end for the tests, without sockets."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping

from shared_values import REGISTRY_ID

from ecr_upload_model import Limits, Registry
from ecr_upload_model.oci import Body, Dialect, OciFrontEnd, OciResponse
from ecr_upload_model.registry import MemoryStore, sequential_upload_ids

#: Parts of 16 to 64 bytes keep the tests fast; min is under half of max, as in ECR.
LIMITS = Limits(max_part_bytes=64, min_part_bytes=16, part_size=32)


def digest_text(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class V2:
    """A front end over a fresh registry holding ``team/app`` and ``team/other``."""

    def __init__(
        self,
        *,
        limits: Limits = LIMITS,
        dialect: Dialect = Dialect.ECR,
        blob_mounting: bool = False,
        keep_layers: bool = True,
    ) -> None:
        self.registry = Registry(
            REGISTRY_ID,
            limits=limits,
            upload_id_factory=sequential_upload_ids(),
            store=MemoryStore(keep_layers=keep_layers),
        )
        self.registry.create_repository("team/app")
        self.registry.create_repository("team/other")
        self.front_end = OciFrontEnd(self.registry, dialect=dialect, blob_mounting=blob_mounting)

    def call(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        headers: Mapping[str, str] | None = None,
        body: Body = b"",
    ) -> OciResponse:
        response = self.front_end.handle(method, path, query=query, headers=headers, body=body)
        assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"
        if isinstance(response.body, bytes) and method != "HEAD":
            assert response.headers["Content-Length"] == str(len(response.body))
        return response

    def start(self, repository: str = "team/app") -> str:
        """A new upload's location."""
        response = self.call("POST", f"/v2/{repository}/blobs/uploads/")
        assert response.status == 202, error(response)
        return response.headers["Location"]

    def patch(
        self,
        location: str,
        chunk: bytes,
        first: int | None = None,
        *,
        stream: bool = False,
        announced: bool = True,
    ) -> OciResponse:
        """A PATCH of ``chunk`` at ``first`` (``Content-Range``), or streamed without one;
        as a stream without ``Content-Length`` unless ``announced``."""
        headers = {"Content-Length": str(len(chunk))} if announced or not stream else {}
        if first is not None:
            headers["Content-Range"] = f"{first}-{first + len(chunk) - 1}"
        body: Body = io.BytesIO(chunk) if stream else chunk
        return self.call("PATCH", location, headers=headers, body=body)

    def put(self, location: str, digest: str, chunk: bytes = b"") -> OciResponse:
        headers = {"Content-Length": str(len(chunk))}
        return self.call("PUT", location, query=f"digest={digest}", headers=headers, body=chunk)

    def push(self, data: bytes, repository: str = "team/app") -> str:
        """Pushes ``data`` in one PUT after a POST; its digest."""
        response = self.put(self.start(repository), digest_text(data), data)
        assert response.status == 201, error(response)
        return digest_text(data)

    def blob(self, digest: str, repository: str = "team/app") -> bytes | None:
        """The blob's bytes as a GET answers them, or None when it answers 404."""
        response = self.call("GET", f"/v2/{repository}/blobs/{digest}")
        if response.status == 404:
            return None
        assert response.status == 200, error(response)
        assert not isinstance(response.body, bytes)
        with response.body as stream:
            return stream.read()


def error(response: OciResponse) -> dict[str, object]:
    """The one error an answer carries (code, message, detail)."""
    assert isinstance(response.body, bytes)
    assert response.headers["Content-Type"] == "application/json"
    errors = json.loads(response.body)["errors"]
    assert len(errors) == 1
    entry: dict[str, object] = errors[0]
    return entry


def code(response: OciResponse) -> tuple[int, object]:
    """(status, the error code)."""
    return response.status, error(response)["code"]
