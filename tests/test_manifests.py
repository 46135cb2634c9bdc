"""Manifests and tags: what is a manifest, and the registry's rules for storing one."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from oci_images import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_MANIFEST,
    digest_of,
    image_manifest,
    index,
)
from shared_values import REGISTRY_ID
from test_layer_bytes import new_registry, push
from test_registry import name

from ecr_upload_model import (
    InvalidParameterException,
    LayerDigest,
    RepositoryNotFoundException,
)
from ecr_upload_model.errors import (
    ImageDigestDoesNotMatchException,
    ImageNotFoundException,
    LayersNotFoundException,
    ReferencedImagesNotFoundException,
)
from ecr_upload_model.limits import MAX_MANIFEST_BYTES
from ecr_upload_model.manifests import ImageTag, Manifest, ManifestKind, reference
from ecr_upload_model.operations import DeleteRepositoryRequest

APP = name("team/app")
CONFIG = b'{"os": "linux"}'
LAYER = b"layer bytes"


def invalid(content: bytes, content_type: str | None = None) -> str:
    """The constraint a refused manifest breaks."""
    with pytest.raises(InvalidParameterException) as raised:
        Manifest.parse(content, content_type)
    assert raised.value.member == "imageManifest"
    return raised.value.message


@pytest.mark.parametrize(
    ("media_type", "kind"),
    [
        (OCI_MANIFEST, ManifestKind.IMAGE),
        (DOCKER_MANIFEST, ManifestKind.IMAGE),
        (OCI_INDEX, ManifestKind.INDEX),
        (DOCKER_LIST, ManifestKind.INDEX),
    ],
)
def test_each_media_type_is_read_for_what_it_names(media_type: str, kind: ManifestKind) -> None:
    image = image_manifest(CONFIG, [LAYER], OCI_MANIFEST)
    content = (
        image_manifest(CONFIG, [LAYER], media_type)
        if kind is ManifestKind.IMAGE
        else index([image], media_type)
    )
    manifest = Manifest.parse(content, media_type)
    assert (manifest.media_type, manifest.kind, manifest.content) == (media_type, kind, content)
    assert str(manifest.digest) == digest_of(content)
    named = tuple(LayerDigest(digest_of(data)) for data in (CONFIG, LAYER))
    assert (manifest.blobs, manifest.manifests) == (
        (named, ()) if kind is ManifestKind.IMAGE else ((), (LayerDigest(digest_of(image)),))
    )


def test_the_media_type_comes_from_the_content_type_when_the_manifest_has_none() -> None:
    content = json.dumps({"schemaVersion": 2, "manifests": []}).encode()
    assert Manifest.parse(content, f"{OCI_INDEX}; charset=utf-8").media_type == OCI_INDEX
    assert "not ''" in invalid(content)


def test_a_manifest_sent_as_another_manifest_media_type_is_refused() -> None:
    content = image_manifest(CONFIG, [LAYER])
    assert "was sent as" in invalid(content, DOCKER_MANIFEST)
    for content_type in (OCI_MANIFEST, None, "text/plain", "application/json"):
        assert Manifest.parse(content, content_type).media_type == OCI_MANIFEST
    untyped = json.dumps({"schemaVersion": 2, "manifests": []}).encode()
    assert "not ''" in invalid(untyped, "text/plain")


@pytest.mark.parametrize(
    ("content", "constraint"),
    [
        (b"", "length greater than or equal to 1"),
        (b"\xff{}", "UTF-8"),
        (b"{", "must be JSON"),
        (b"[]", "JSON object"),
        (b'{"schemaVersion": NaN}', "NaN is not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
        (b'{"schemaVersion": 2, "schemaVersion": 2}', "same key twice"),
        (b'{"schemaVersion": 2, "mediaType": 7}', "mediaType must be a string"),
        (b'{"schemaVersion": 2, "mediaType": "text/plain"}', "media types"),
        (f'{{"schemaVersion": 1, "mediaType": "{OCI_INDEX}", "manifests": []}}'.encode(), "2"),
        (
            f'{{"schemaVersion": true, "mediaType": "{OCI_INDEX}", "manifests": []}}'.encode(),
            "schemaVersion must be 2",
        ),
        (f'{{"schemaVersion": 2, "mediaType": "{OCI_INDEX}"}}'.encode(), "manifests must be"),
        (
            f'{{"schemaVersion": 2, "mediaType": "{OCI_MANIFEST}", "layers": []}}'.encode(),
            "config must be a descriptor",
        ),
    ],
)
def test_what_is_not_a_manifest_is_invalid_at_image_manifest(
    content: bytes, constraint: str
) -> None:
    assert constraint in invalid(content)


@pytest.mark.parametrize(
    ("change", "constraint"),
    [
        ({"mediaType": None}, "layers[0].mediaType must be a string"),
        ({"size": -1}, "layers[0].size must be a non-negative integer"),
        ({"size": True}, "layers[0].size must be a non-negative integer"),
        ({"size": 1.5}, "layers[0].size must be a non-negative integer"),
        ({"digest": 5}, "layers[0].digest must be a string"),
        ({"digest": "sha256:xyz"}, "layers[0].digest must be a digest"),
    ],
)
def test_a_descriptor_needs_a_media_type_a_size_and_a_digest(
    change: dict[str, object], constraint: str
) -> None:
    layer = {"mediaType": OCI_CONFIG, "size": 4, "digest": digest_of(LAYER), **change}
    config = {"mediaType": OCI_CONFIG, "size": 4, "digest": digest_of(CONFIG)}
    content = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer]}
    ).encode()
    assert constraint in invalid(content)


def test_a_manifest_of_up_to_4_mib_is_taken_and_a_longer_one_refused() -> None:
    base = json.loads(image_manifest(CONFIG, []))
    text = json.dumps({**base, "annotations": {"x": ""}})
    padding = MAX_MANIFEST_BYTES - len(text)
    largest = json.dumps({**base, "annotations": {"x": "a" * padding}}).encode()
    assert len(largest) == MAX_MANIFEST_BYTES
    assert Manifest.parse(largest, None).content == largest
    assert "less than or equal to 4194304" in invalid(largest[:-1] + b" }")


def test_a_subject_is_not_something_the_manifest_names() -> None:
    content = json.loads(image_manifest(CONFIG, [LAYER]))
    content["subject"] = {"mediaType": OCI_MANIFEST, "size": 2, "digest": digest_of(b"{}")}
    manifest = Manifest.parse(json.dumps(content).encode(), None)
    assert LayerDigest(digest_of(b"{}")) not in manifest.blobs


# ---------------------------------------------------------------------------------------
# Tags and references


@given(st.from_regex(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}", fullmatch=True))
def test_every_tag_of_the_oci_grammar_is_a_tag(text: str) -> None:
    assert str(ImageTag(text)) == text
    assert reference(text) == ImageTag(text)


@pytest.mark.parametrize(
    ("text", "constraint"),
    [
        ("", "length greater than or equal to 1"),
        ("a" * 129, "length less than or equal to 128"),
        ("-latest", "regular expression"),
        (".hidden", "regular expression"),
        ("v1/2", "regular expression"),
        ("v\u00e9", "regular expression"),
    ],
)
def test_a_tag_outside_the_oci_grammar_is_invalid(text: str, constraint: str) -> None:
    with pytest.raises(InvalidParameterException, match=constraint) as raised:
        ImageTag(text)
    assert raised.value.member == "imageTag"


def test_a_reference_with_a_colon_is_a_digest() -> None:
    assert reference(digest_of(b"x")) == LayerDigest(digest_of(b"x"))
    with pytest.raises(InvalidParameterException) as raised:
        reference("sha256:not-hex")
    assert raised.value.member == "imageDigest"


# ---------------------------------------------------------------------------------------
# The registry's manifests


def test_a_manifest_is_found_by_its_tag_and_its_digest_as_pushed() -> None:
    registry = new_registry()
    push(registry, [CONFIG])
    push(registry, [LAYER])
    content = image_manifest(CONFIG, [LAYER])
    stored = registry.put_manifest(
        APP, content, content_type=OCI_MANIFEST, reference=ImageTag("v1")
    )
    assert registry.manifest(APP, ImageTag("v1")) == stored
    assert registry.manifest(APP, LayerDigest(digest_of(content))).content == content
    assert registry.image_tags(APP) == [ImageTag("v1")]


def test_a_manifest_naming_a_blob_the_repository_lacks_is_layers_not_found() -> None:
    registry = new_registry()
    push(registry, [CONFIG])
    push(registry, [LAYER], "team/other")  # held, but by another repository
    content = image_manifest(CONFIG, [LAYER])
    with pytest.raises(LayersNotFoundException, match=digest_of(LAYER)):
        registry.put_manifest(APP, content, content_type=None, reference=ImageTag("v1"))
    with pytest.raises(ImageNotFoundException):
        registry.manifest(APP, ImageTag("v1"))
    assert registry.image_tags(APP) == []


@pytest.mark.parametrize(
    ("lacking", "listed"),
    [
        (3, "'{0}', '{1}', '{2}'"),
        (4, "'{0}', '{1}', '{2}' and 1 more"),
    ],
)
def test_a_manifest_lacking_blobs_names_the_first_three_and_counts_the_rest(
    lacking: int, listed: str
) -> None:
    registry = new_registry()
    push(registry, [CONFIG])
    layers = [b"layer %d" % number for number in range(lacking)]
    content = image_manifest(CONFIG, layers)
    with pytest.raises(LayersNotFoundException) as raised:
        registry.put_manifest(APP, content, content_type=None, reference=ImageTag("v1"))
    shown = listed.format(*map(digest_of, layers))
    assert raised.value.message == f"The repository 'team/app' holds no layer {shown}"


def test_an_index_naming_a_manifest_the_repository_lacks_is_referenced_images_not_found() -> None:
    registry = new_registry()
    push(registry, [CONFIG])
    image = image_manifest(CONFIG, [])
    with pytest.raises(ReferencedImagesNotFoundException) as raised:
        registry.put_manifest(APP, index([image]), content_type=None, reference=ImageTag("v1"))
    assert raised.value.message == (
        f"The repository 'team/app' holds no image '{digest_of(image)}'"
    )
    registry.put_manifest(APP, image, content_type=None, reference=LayerDigest(digest_of(image)))
    assert registry.image_tags(APP) == []  # a manifest pushed by digest is not tagged
    stored = registry.put_manifest(APP, index([image]), content_type=None, reference=ImageTag("v1"))
    assert registry.manifest(APP, ImageTag("v1")) == stored


def test_a_manifest_pushed_by_another_digest_is_refused() -> None:
    registry = new_registry()
    push(registry, [CONFIG])
    content = image_manifest(CONFIG, [])
    with pytest.raises(ImageDigestDoesNotMatchException, match=digest_of(content)):
        registry.put_manifest(
            APP, content, content_type=None, reference=LayerDigest(digest_of(b"other"))
        )
    assert registry.image_tags(APP) == []


def test_a_tag_moves_to_the_manifest_pushed_last_and_tags_list_in_byte_order() -> None:
    registry = new_registry()
    push(registry, [CONFIG])
    first, second = image_manifest(CONFIG, []), image_manifest(CONFIG, [], DOCKER_MANIFEST)
    for tag in ("b", "B", "a", "_x", "1"):
        registry.put_manifest(APP, first, content_type=None, reference=ImageTag(tag))
    registry.put_manifest(APP, second, content_type=None, reference=ImageTag("a"))
    assert registry.manifest(APP, ImageTag("a")).content == second
    assert registry.manifest(APP, ImageTag("b")).content == first
    assert [str(tag) for tag in registry.image_tags(APP)] == ["1", "B", "_x", "a", "b"]


def test_a_manifest_without_a_media_type_is_stored_as_its_content_type() -> None:
    registry = new_registry()
    untyped = json.dumps({"schemaVersion": 2, "manifests": []}).encode()
    stored = registry.put_manifest(APP, untyped, content_type=OCI_INDEX, reference=ImageTag("v1"))
    assert stored.media_type == OCI_INDEX
    assert registry.manifest(APP, ImageTag("v1")).media_type == OCI_INDEX


def test_a_tag_no_manifest_has_is_image_not_found() -> None:
    registry = new_registry()
    push(registry, [CONFIG])
    registry.put_manifest(
        APP, image_manifest(CONFIG, []), content_type=None, reference=ImageTag("v1")
    )
    with pytest.raises(ImageNotFoundException) as raised:
        registry.manifest(APP, ImageTag("v2"))
    assert raised.value.message == (
        "The image with imageId 'v2' does not exist within the repository with name "
        f"'team/app' in the registry with id '{REGISTRY_ID}'"
    )


def test_a_repository_deleted_and_created_again_holds_no_manifest_or_tag() -> None:
    registry = new_registry()
    push(registry, [CONFIG])
    registry.put_manifest(
        APP, image_manifest(CONFIG, []), content_type=None, reference=ImageTag("v1")
    )
    registry.delete_repository(DeleteRepositoryRequest(repository_name=APP, force=True))
    registry.create_repository(APP)
    assert registry.image_tags(APP) == []
    with pytest.raises(ImageNotFoundException):
        registry.manifest(APP, ImageTag("v1"))


def test_the_repository_answers_before_the_manifest() -> None:
    registry = new_registry()
    for call in (
        lambda: registry.put_manifest(
            name("team/none"), b"not json", content_type=None, reference=ImageTag("v1")
        ),
        lambda: registry.manifest(name("team/none"), ImageTag("v1")),
        lambda: registry.image_tags(name("team/none")),
    ):
        with pytest.raises(RepositoryNotFoundException):
            call()
