"""Every /v2/ request a client can get wrong is answered with the spec's error code and
changes nothing; no request makes the front end raise."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from oci_calls import V2, code, digest_text, error

from ecr_upload_model import UploadId, UsageError
from ecr_upload_model.oci import OciFrontEnd

UPLOAD = "/v2/team/app/blobs/uploads/00000000-0000-0000-0000-000000000000"
NEXT_UPLOAD = UploadId("00000000-0000-0000-0000-000000000001")


def started() -> V2:
    v2 = V2()
    assert v2.start() == UPLOAD
    v2.patch(UPLOAD, b"x" * 20, 0)
    return v2


@pytest.mark.parametrize(
    ("method", "path", "query", "headers", "answer"),
    [
        ("POST", "/v2/team/none/blobs/uploads/", "", {}, (404, "NAME_UNKNOWN")),
        ("POST", "/v2/Team/App/blobs/uploads/", "", {}, (400, "NAME_INVALID")),
        ("POST", "/v2//blobs/uploads/", "", {}, (400, "NAME_INVALID")),
        ("GET", "/v2/team/app/blobs/uploads/not-a-uuid", "", {}, (404, "BLOB_UPLOAD_UNKNOWN")),
        ("GET", UPLOAD.replace("app", "other"), "", {}, (404, "BLOB_UPLOAD_UNKNOWN")),
        ("GET", UPLOAD.replace("0000-0000", "0000-0001"), "", {}, (404, "BLOB_UPLOAD_UNKNOWN")),
        ("PATCH", UPLOAD, "", {"Content-Range": "20-x"}, (400, "BLOB_UPLOAD_INVALID")),
        ("PATCH", UPLOAD, "", {"Content-Range": "20-29"}, (400, "SIZE_INVALID")),
        ("PATCH", UPLOAD, "", {"Content-Length": "-1"}, (400, "SIZE_INVALID")),
        ("PUT", UPLOAD, "", {}, (400, "DIGEST_INVALID")),
        ("PUT", UPLOAD, "digest=sha256:zz", {}, (400, "DIGEST_INVALID")),
        ("PUT", UPLOAD, "digest=sha256:ab&digest=sha256:cd", {}, (400, "DIGEST_INVALID")),
        ("POST", "/v2/team/app/blobs/uploads/", "digest=sha256:zz", {}, (400, "DIGEST_INVALID")),
        ("HEAD", "/v2/team/app/blobs/sha256:" + "a" * 64, "", {}, (404, "BLOB_UNKNOWN")),
        ("GET", "/v2/team/app/blobs/not-a-digest", "", {}, (400, "DIGEST_INVALID")),
        ("GET", "/v2/team/app/blobs/sha256:" + "a" * 2000, "", {}, (400, "DIGEST_INVALID")),
        ("GET", "/v2/team/app/manifests/-bad-tag", "", {}, (400, "MANIFEST_INVALID")),
        ("GET", "/v2/team/app/manifests/sha256:zz", "", {}, (400, "DIGEST_INVALID")),
        ("GET", "/v2/team/app/manifests/v1", "", {}, (404, "MANIFEST_UNKNOWN")),
        ("GET", "/v2/team/app/tags/list", "n=-1", {}, (400, "UNSUPPORTED")),
        (
            "GET",
            "/v2/team/app/tags/list",
            "&".join(f"x{i}=1" for i in range(20)),
            {},
            (400, "UNSUPPORTED"),
        ),
        ("GET", "/v2/team/app/nowhere", "", {}, (404, "UNSUPPORTED")),
        ("GET", "/elsewhere", "", {}, (404, "UNSUPPORTED")),
        ("POST", "/v2/", "", {}, (405, "UNSUPPORTED")),
        ("PATCH", "/v2/team/app/blobs/uploads/", "", {}, (405, "UNSUPPORTED")),
    ],
)
def test_a_wrong_request_gets_the_specs_code_and_changes_nothing(
    method: str, path: str, query: str, headers: dict[str, str], answer: tuple[int, str]
) -> None:
    v2 = started()
    response = v2.call(method, path, query=query, headers=headers, body=b"y" * 5)
    assert code(response) == answer, error(response)
    assert v2.call("GET", UPLOAD).headers["Range"] == "0-19"
    assert v2.registry.session(NEXT_UPLOAD) is None  # no upload was started


def test_a_method_an_endpoint_does_not_take_is_405_with_the_methods_it_takes() -> None:
    response = V2().call("POST", "/v2/team/app/manifests/v1")
    assert code(response) == (405, "UNSUPPORTED")
    assert response.headers["Allow"] == "GET, HEAD, PUT"


def test_a_blob_cannot_be_pulled_from_a_store_that_keeps_no_bytes() -> None:
    v2 = V2(keep_layers=False)
    digest = v2.push(b"layer")
    assert v2.call("HEAD", f"/v2/team/app/blobs/{digest}").status == 200
    response = v2.call("GET", f"/v2/team/app/blobs/{digest}")
    assert code(response) == (501, "UNSUPPORTED")
    assert "keep_layers=True" in str(error(response)["message"])


def test_a_patch_at_an_upload_another_repository_started_is_unknown() -> None:
    v2 = started()
    response = v2.patch(UPLOAD.replace("team/app", "team/other"), b"z" * 20, 20)
    assert code(response) == (404, "BLOB_UPLOAD_UNKNOWN")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"registry": "registry"}, "registry must be Registry"),
        ({"dialect": "ECR"}, "dialect must be Dialect"),
        ({"blob_mounting": 1}, "blob_mounting must be bool"),
        ({"verify_password": "secret"}, "verify_password must be Callable or NoneType"),
        ({"realm": b"realm"}, "realm must be str or NoneType"),
    ],
)
def test_a_front_end_of_wrong_arguments_is_a_usage_error(
    arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        OciFrontEnd(**{"registry": V2().registry, **arguments})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"method": b"GET"}, "method, path and query must be str"),
        ({"query": None}, "method, path and query must be str"),
        ({"body": "text"}, "body must be bytes or a binary stream, not str"),
        ({"body": bytearray(b"x")}, "body must be bytes or a binary stream, not bytearray"),
        ({"headers": {"Content-Length": 5}}, "headers must map str to str"),
    ],
)
def test_a_request_of_wrong_python_types_is_a_usage_error(
    arguments: dict[str, object], message: str
) -> None:
    call = {"method": "GET", "path": "/v2/", **arguments}
    with pytest.raises(UsageError, match=message):
        V2().front_end.handle(**call)  # type: ignore[arg-type]


METHODS = st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "get"])
SEGMENTS = st.sampled_from(
    [
        "v2",
        "team",
        "app",
        "blobs",
        "uploads",
        "manifests",
        "tags",
        "list",
        "",
        "..",
        "%00",
        "00000000-0000-0000-0000-000000000000",
        digest_text(b"x"),
        "sha256:",
        "v1",
        "A",
    ]
)
QUERIES = st.lists(
    st.tuples(
        st.sampled_from(["digest", "mount", "from", "n", "last", "x"]),
        st.sampled_from([digest_text(b"x"), "team/app", "2", "-1", "", "sha256:zz", "v1"]),
    ),
    max_size=4,
).map(lambda pairs: "&".join(f"{key}={value}" for key, value in pairs))
HEADERS = st.dictionaries(
    st.sampled_from(["Content-Range", "Content-Length", "Content-Type", "Authorization"]),
    st.sampled_from(["0-4", "5", "0", "x", "bytes 0-4/5", "1-0", "-1", "application/json"]),
)


@given(
    method=METHODS,
    segments=st.lists(SEGMENTS, max_size=7),
    query=QUERIES,
    headers=HEADERS,
    body=st.binary(max_size=80),
    stream=st.booleans(),
)
def test_no_request_makes_the_front_end_raise(
    *,
    method: str,
    segments: list[str],
    query: str,
    headers: dict[str, str],
    body: bytes,
    stream: bool,
) -> None:
    v2 = started()
    path = "/" + "/".join(segments)
    response = v2.front_end.handle(
        method, path, query=query, headers=headers, body=io.BytesIO(body) if stream else body
    )
    assert 200 <= response.status < 600
    if response.status >= 400:
        assert isinstance(response.body, bytes)
        assert json.loads(response.body)["errors"][0]["code"].isupper()
