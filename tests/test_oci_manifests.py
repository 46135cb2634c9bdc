"""Manifests and tags over /v2/: a whole image pushed and pulled, the refusals, the
tag list and its pages."""

from __future__ import annotations

import io
import json
import re

from hypothesis import given
from hypothesis import strategies as st
from oci_calls import V2, code, digest_text, error
from oci_images import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, config_for, image_manifest, index

from ecr_upload_model.limits import MAX_MANIFEST_BYTES
from ecr_upload_model.oci import OciResponse

LAYERS = [b"first layer " * 5, b"second layer " * 7]
CONFIG = config_for([digest_text(layer) for layer in LAYERS])


def put_manifest(
    v2: V2, reference: str, content: bytes, media_type: str = OCI_MANIFEST
) -> OciResponse:
    return v2.call(
        "PUT",
        f"/v2/team/app/manifests/{reference}",
        headers={"Content-Type": media_type},
        body=content,
    )


def test_a_whole_image_is_pushed_and_pulled_back_as_it_was() -> None:
    v2 = V2()
    for blob in (*LAYERS, CONFIG):
        v2.push(blob)
    manifest = image_manifest(CONFIG, LAYERS)
    response = put_manifest(v2, "v1", manifest)
    assert response.status == 201
    assert response.headers["Docker-Content-Digest"] == digest_text(manifest)
    assert response.headers["Location"] == f"/v2/team/app/manifests/{digest_text(manifest)}"
    for reference in ("v1", digest_text(manifest)):
        got = v2.call("GET", f"/v2/team/app/manifests/{reference}")
        assert (got.status, got.body) == (200, manifest)
        assert got.headers["Content-Type"] == OCI_MANIFEST
        assert got.headers["Docker-Content-Digest"] == digest_text(manifest)
        head = v2.call("HEAD", f"/v2/team/app/manifests/{reference}")
        assert (head.status, head.body, head.headers["Content-Length"]) == (
            200,
            b"",
            str(len(manifest)),
        )
    pulled = json.loads(manifest)
    for descriptor in (pulled["config"], *pulled["layers"]):
        pulled_blob = v2.blob(descriptor["digest"])
        assert pulled_blob is not None
        assert (len(pulled_blob), digest_text(pulled_blob)) == (
            descriptor["size"],
            descriptor["digest"],
        )


def test_an_index_and_a_docker_manifest_are_kept_with_their_media_types() -> None:
    v2 = V2()
    for blob in (*LAYERS, CONFIG):
        v2.push(blob)
    image = image_manifest(CONFIG, LAYERS, DOCKER_MANIFEST)
    assert put_manifest(v2, digest_text(image), image, DOCKER_MANIFEST).status == 201
    listing = index([image], OCI_INDEX)
    assert put_manifest(v2, "multi", listing, OCI_INDEX).status == 201
    got = v2.call("GET", "/v2/team/app/manifests/multi")
    assert (got.headers["Content-Type"], got.body) == (OCI_INDEX, listing)
    got = v2.call("GET", f"/v2/team/app/manifests/{digest_text(image)}")
    assert got.headers["Content-Type"] == DOCKER_MANIFEST


def test_a_manifest_naming_a_blob_the_repository_lacks_is_manifest_blob_unknown() -> None:
    v2 = V2()
    v2.push(CONFIG)
    v2.push(LAYERS[0])
    response = put_manifest(v2, "v1", image_manifest(CONFIG, LAYERS))
    assert code(response) == (400, "MANIFEST_BLOB_UNKNOWN")
    assert error(response)["detail"]["__type"] == "LayersNotFoundException"  # type: ignore[index]
    assert digest_text(LAYERS[1]) in str(error(response)["message"])
    assert code(v2.call("GET", "/v2/team/app/manifests/v1")) == (404, "MANIFEST_UNKNOWN")


def test_an_index_naming_a_manifest_the_repository_lacks_is_manifest_blob_unknown() -> None:
    v2 = V2()
    response = put_manifest(v2, "v1", index([image_manifest(CONFIG, [])]), OCI_INDEX)
    assert code(response) == (400, "MANIFEST_BLOB_UNKNOWN")


def test_what_is_not_a_manifest_is_manifest_invalid() -> None:
    v2 = V2()
    for content in (b"{}", b"not json", image_manifest(CONFIG, [])[:-1]):
        assert code(put_manifest(v2, "v1", content)) == (400, "MANIFEST_INVALID")


def test_a_manifest_pushed_by_another_digest_is_digest_invalid() -> None:
    v2 = V2()
    v2.push(CONFIG)
    response = put_manifest(v2, digest_text(b"other"), image_manifest(CONFIG, []))
    assert code(response) == (400, "DIGEST_INVALID")


class Unreadable(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        raise AssertionError("read a manifest announced too large")


def test_a_manifest_over_4_mib_is_413_before_it_is_read() -> None:
    v2 = V2()
    response = v2.call(
        "PUT",
        "/v2/team/app/manifests/v1",
        headers={"Content-Length": str(MAX_MANIFEST_BYTES + 1)},
        body=Unreadable(),
    )
    assert code(response) == (413, "SIZE_INVALID")
    unannounced = io.BytesIO(b" " * (MAX_MANIFEST_BYTES + 1))
    response = v2.call("PUT", "/v2/team/app/manifests/v1", body=unannounced)
    assert code(response) == (413, "SIZE_INVALID")
    assert unannounced.tell() == MAX_MANIFEST_BYTES + 1  # read no further than needed


def test_a_manifest_whose_body_ends_early_is_size_invalid() -> None:
    v2 = V2()
    v2.push(CONFIG)
    manifest = image_manifest(CONFIG, [])
    response = v2.call(
        "PUT",
        "/v2/team/app/manifests/v1",
        headers={"Content-Length": str(len(manifest) + 10)},
        body=io.BytesIO(manifest),
    )
    assert code(response) == (400, "SIZE_INVALID")


# ---------------------------------------------------------------------------------------
# The tag list


def tagged(tags: list[str]) -> V2:
    v2 = V2()
    v2.push(CONFIG)
    manifest = image_manifest(CONFIG, [])
    for tag in tags:
        assert put_manifest(v2, tag, manifest).status == 201
    return v2


def tag_list(v2: V2, query: str = "") -> tuple[list[str], str | None]:
    response = v2.call("GET", "/v2/team/app/tags/list", query=query)
    assert response.status == 200
    assert isinstance(response.body, bytes)
    answer = json.loads(response.body)
    assert answer["name"] == "team/app"
    return answer["tags"], response.headers.get("Link")


def test_the_tag_list_is_in_byte_order() -> None:
    assert tag_list(tagged(["latest", "B", "1.0", "a_b"])) == (["1.0", "B", "a_b", "latest"], None)
    assert tag_list(V2()) == ([], None)


def test_n_zero_is_an_empty_list_without_a_link() -> None:
    assert tag_list(tagged(["a", "b"]), "n=0") == ([], None)


def test_last_starts_after_a_tag_that_need_not_exist() -> None:
    v2 = tagged(["a", "c", "e"])
    assert tag_list(v2, "last=a")[0] == ["c", "e"]
    assert tag_list(v2, "last=b")[0] == ["c", "e"]
    assert tag_list(v2, "last=e")[0] == []


@given(
    tags=st.lists(
        st.from_regex(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,5}", fullmatch=True), unique=True, max_size=12
    ),
    page=st.integers(1, 5),
)
def test_following_the_links_lists_every_tag_once_in_order(tags: list[str], page: int) -> None:
    v2 = tagged(tags)
    seen: list[str] = []
    query: str | None = f"n={page}"
    while query is not None:
        listed, link = tag_list(v2, query)
        assert len(listed) <= page
        assert link is None or len(listed) == page
        # A link leads to more tags, never to an empty page.
        assert listed or not seen
        seen += listed
        matched = (
            None
            if link is None
            else re.fullmatch(r'</v2/team/app/tags/list\?(.*)>; rel="next"', link)
        )
        assert link is None or matched is not None
        query = None if matched is None else matched[1]
    assert seen == sorted(tags)
