"""Mounting a blob of another repository over /v2/: ECR's switch and ECR's rule."""

from __future__ import annotations

import pytest
from oci_calls import V2, digest_text
from oci_images import OCI_MANIFEST, image_manifest

from ecr_upload_model.oci import Dialect, OciResponse

LAYER = b"a layer to share" * 4
CONFIG = b"{}"


def mount(v2: V2, digest: str, source: str | None = "team/other") -> OciResponse:
    query = f"mount={digest}" + ("" if source is None else f"&from={source}")
    return v2.call("POST", "/v2/team/app/blobs/uploads/", query=query)


def held(v2: V2, digest: str) -> bool:
    return v2.call("HEAD", f"/v2/team/app/blobs/{digest}").status == 200


def test_a_held_blob_is_mounted_with_201_when_mounting_is_on() -> None:
    v2 = V2(dialect=Dialect.OCI, blob_mounting=True)
    digest = v2.push(LAYER, "team/other")
    response = mount(v2, digest)
    assert response.status == 201
    assert response.headers["Location"] == f"/v2/team/app/blobs/{digest}"
    assert response.headers["Docker-Content-Digest"] == digest
    assert v2.blob(digest) == LAYER


@pytest.mark.parametrize(
    ("switch_on", "source", "mounted_digest"),
    [
        (False, "team/other", True),  # ECR's BLOB_MOUNTING setting off
        (True, "team/none", True),  # no such source
        (True, "Team/Bad", True),  # not a name
        (True, None, True),  # no source given
        (True, "team/other", False),  # a blob the source does not hold
    ],
)
def test_when_no_blob_is_mounted_an_upload_begins(
    switch_on: bool, source: str | None, mounted_digest: bool
) -> None:
    v2 = V2(dialect=Dialect.OCI, blob_mounting=switch_on)
    digest = v2.push(LAYER, "team/other") if mounted_digest else digest_text(b"not held")
    response = mount(v2, digest, source)
    assert response.status == 202
    assert response.headers["Location"].startswith("/v2/team/app/blobs/uploads/")
    assert not held(v2, digest)


def test_a_mount_digest_that_is_not_a_digest_begins_an_upload() -> None:
    v2 = V2(dialect=Dialect.OCI, blob_mounting=True)
    assert mount(v2, "sha256:zz").status == 202


def test_ecr_mounts_only_a_blob_a_manifest_of_its_repository_names() -> None:
    v2 = V2(blob_mounting=True)  # ECR's dialect
    layer, config = v2.push(LAYER, "team/other"), v2.push(CONFIG, "team/other")
    assert mount(v2, layer).status == 202  # held, but no manifest names it
    manifest = image_manifest(CONFIG, [LAYER])
    response = v2.call(
        "PUT",
        "/v2/team/other/manifests/v1",
        headers={"Content-Type": OCI_MANIFEST},
        body=manifest,
    )
    assert response.status == 201
    assert mount(v2, layer).status == 201
    assert mount(v2, config).status == 201
    assert held(v2, layer)
