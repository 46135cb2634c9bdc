"""Images for the tests: manifests as bytes, and an OCI image layout on disk."""

from __future__ import annotations

import gzip
import hashlib
import json
import pathlib

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def descriptor(data: bytes, media_type: str) -> dict[str, object]:
    return {"mediaType": media_type, "digest": digest_of(data), "size": len(data)}


def image_manifest(config: bytes, layers: list[bytes], media_type: str = OCI_MANIFEST) -> bytes:
    """An image manifest naming ``config`` and ``layers`` (their digests and sizes)."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": descriptor(config, OCI_CONFIG),
            "layers": [descriptor(layer, OCI_LAYER) for layer in layers],
        }
    ).encode()


def index(manifests: list[bytes], media_type: str = OCI_INDEX) -> bytes:
    """An index naming image ``manifests``."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": media_type,
            "manifests": [descriptor(manifest, OCI_MANIFEST) for manifest in manifests],
        }
    ).encode()


def config_for(diff_ids: list[str]) -> bytes:
    """An image config of the given (uncompressed) layer digests."""
    return json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    ).encode()


def write_layout(
    directory: pathlib.Path, tag: str, layers: list[bytes]
) -> tuple[bytes, dict[str, bytes]]:
    """Writes an OCI image layout (oci-layout, index.json, blobs/sha256/...) holding one
    image tagged ``tag`` of ``layers``, gzipped as images' layers are; returns its
    manifest and its blobs by digest (layers, config, manifest)."""
    compressed = [gzip.compress(layer, compresslevel=1, mtime=0) for layer in layers]
    config = config_for([digest_of(layer) for layer in layers])
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor(config, OCI_CONFIG),
            "layers": [descriptor(layer, OCI_LAYER + "+gzip") for layer in compressed],
        }
    ).encode()
    blobs = {digest_of(blob): blob for blob in (config, manifest, *compressed)}
    directory.joinpath("blobs", "sha256").mkdir(parents=True)
    for digest, blob in blobs.items():
        directory.joinpath("blobs", "sha256", digest.removeprefix("sha256:")).write_bytes(blob)
    (directory / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    entry = {
        **descriptor(manifest, OCI_MANIFEST),
        "annotations": {"org.opencontainers.image.ref.name": tag},
    }
    (directory / "index.json").write_text(
        json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]})
    )
    return manifest, blobs


def read_layout(directory: pathlib.Path) -> dict[str, bytes]:
    """The blobs of an OCI image layout, by digest."""
    return {
        "sha256:" + path.name: path.read_bytes()
        for path in directory.joinpath("blobs", "sha256").iterdir()
    }
