"""Pushing blobs over /v2/: chunks, their order, the upload's status, cancelling,
completions and ECR's rules, through the front end without sockets."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from oci_calls import LIMITS, V2, code, digest_text, error
from test_registry_threads import race, trials

from ecr_upload_model import Limits, UploadId, UploadSession
from ecr_upload_model.oci import Dialect, OciResponse, part_sizes
from ecr_upload_model.registry import HeldUpload, MemoryStore

DATA = bytes(range(256)) * 2  # 512 bytes: 8 parts of the most LIMITS allows


def test_a_chunked_push_answers_as_ecrs_proxy() -> None:
    v2 = V2()
    response = v2.call("POST", "/v2/team/app/blobs/uploads/")
    assert response.status == 202
    location = response.headers["Location"]
    assert location == "/v2/team/app/blobs/uploads/00000000-0000-0000-0000-000000000000"
    assert response.headers["Docker-Upload-UUID"] == location.rpartition("/")[2]
    assert response.headers["OCI-Chunk-Min-Length"] == "16"
    assert response.headers["Range"] == "0-0"
    response = v2.patch(location, DATA[:40], 0)
    assert (response.status, response.headers["Range"]) == (201, "0-39")
    assert response.headers["Location"] == location
    response = v2.patch(location, DATA[40:100], 40)
    assert (response.status, response.headers["Range"]) == (201, "0-99")
    response = v2.put(location, digest_text(DATA[:100]))
    assert response.status == 201
    assert response.headers["Location"] == f"/v2/team/app/blobs/{digest_text(DATA[:100])}"
    assert response.headers["Docker-Content-Digest"] == digest_text(DATA[:100])
    head = v2.call("HEAD", f"/v2/team/app/blobs/{digest_text(DATA[:100])}")
    assert (head.status, head.headers["Content-Length"], head.body) == (200, "100", b"")
    assert v2.blob(digest_text(DATA[:100])) == DATA[:100]


def test_the_specs_dialect_answers_a_patch_with_202() -> None:
    v2 = V2(dialect=Dialect.OCI)
    location = v2.start()
    assert v2.patch(location, DATA[:40], 0).status == 202


def test_a_chunk_out_of_order_is_416_with_the_range_held_and_changes_nothing() -> None:
    v2 = V2()
    location = v2.start()
    v2.patch(location, DATA[:20], 0)
    for first in (30, 10, 0):  # a gap, an overlap, the chunk again
        response = v2.patch(location, DATA[first : first + 20], first)
        assert code(response) == (416, "BLOB_UPLOAD_INVALID")
        assert response.headers["Range"] == "0-19"
        assert response.headers["Location"] == location
        detail = error(response)["detail"]
        assert isinstance(detail, dict)
        assert detail["__type"] == "InvalidLayerPartException"
        assert detail["lastValidByteReceived"] == 19
    assert v2.patch(location, DATA[20:40], 20).headers["Range"] == "0-39"
    assert v2.put(location, digest_text(DATA[:40])).status == 201
    assert v2.blob(digest_text(DATA[:40])) == DATA[:40]


def test_a_first_chunk_not_at_byte_0_is_416_with_nothing_held() -> None:
    v2 = V2()
    location = v2.start()
    response = v2.patch(location, DATA[5:25], 5)
    assert code(response) == (416, "BLOB_UPLOAD_INVALID")
    assert response.headers["Range"] == "0-0"
    assert "lastValidByteReceived" not in error(response)["detail"]  # type: ignore[operator]


def test_the_status_of_an_upload_is_the_range_it_holds() -> None:
    v2 = V2()
    location = v2.start()
    response = v2.call("GET", location)
    assert (response.status, response.headers["Range"], response.body) == (204, "0-0", b"")
    v2.patch(location, DATA[:30], 0)
    response = v2.call("GET", location)
    assert (response.status, response.headers["Range"]) == (204, "0-29")
    assert response.headers["Location"] == location
    assert response.headers["Docker-Upload-UUID"] == location.rpartition("/")[2]


class EndingStream(io.RawIOBase):
    """Gives ``data`` and then ends, whatever length was announced (a client gone)."""

    def __init__(self, data: bytes, *, fail: bool = False) -> None:
        self._data = io.BytesIO(data)
        self._fail = fail

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = self._data.readinto(buffer)
        if not count and self._fail:
            raise ConnectionResetError("the client is gone")
        return count


@pytest.mark.parametrize("fail", [False, True], ids=["ends", "fails"])
def test_after_an_interrupted_patch_the_status_tells_where_to_go_on(fail: bool) -> None:
    v2 = V2()
    location = v2.start()
    # 300 bytes announced, in parts of 60; the body stops after 150: two parts arrive.
    assert part_sizes(300, 64) == [60] * 5
    response = v2.call(
        "PATCH",
        location,
        headers={"Content-Length": "300", "Content-Range": "0-299"},
        body=EndingStream(DATA[:150], fail=fail),
    )
    assert code(response) == (400, "SIZE_INVALID")
    status = v2.call("GET", location)
    assert status.headers["Range"] == "0-119"
    assert v2.patch(location, DATA[120:300], 120).headers["Range"] == "0-299"
    assert v2.put(location, digest_text(DATA[:300])).status == 201
    assert v2.blob(digest_text(DATA[:300])) == DATA[:300]


def test_a_cancelled_upload_is_unknown_from_then_on() -> None:
    v2 = V2()
    location = v2.start()
    v2.patch(location, DATA[:20], 0)
    response = v2.call("DELETE", location)
    assert (response.status, response.body) == (204, b"")
    for method in ("GET", "DELETE", "PATCH", "PUT"):
        response = v2.call(method, location, query=f"digest={digest_text(DATA[:20])}")
        assert code(response) == (404, "BLOB_UPLOAD_UNKNOWN"), method


def test_a_wrong_digest_is_digest_invalid_and_the_upload_stays_open() -> None:
    v2 = V2()
    location = v2.start()
    v2.patch(location, DATA[:20], 0)
    response = v2.put(location, digest_text(b"something else"))
    assert code(response) == (400, "DIGEST_INVALID")
    assert error(response)["detail"]["__type"] == "InvalidLayerException"  # type: ignore[index]
    assert v2.call("GET", location).headers["Range"] == "0-19"
    assert v2.put(location, digest_text(DATA[:20])).status == 201


def test_a_small_chunk_before_the_last_fails_the_put_as_ecr_does() -> None:
    v2 = V2()
    location = v2.start()
    assert v2.patch(location, DATA[:10], 0).status == 201  # under the 16 bytes minimum
    assert v2.patch(location, DATA[10:40], 10).status == 201
    response = v2.put(location, digest_text(DATA[:40]))
    assert code(response) == (400, "BLOB_UPLOAD_INVALID")
    entry = error(response)
    assert entry["message"] == "All layer parts except the last part should be at least 16 bytes"
    assert entry["detail"]["__type"] == "LayerPartTooSmallException"  # type: ignore[index]


def test_the_last_chunk_may_come_with_the_put() -> None:
    v2 = V2()
    location = v2.start()
    v2.patch(location, DATA[:40], 0)
    response = v2.call(
        "PUT",
        location,
        query=f"digest={digest_text(DATA[:50])}",
        headers={"Content-Range": "40-49", "Content-Length": "10"},
        body=DATA[40:50],
    )
    assert response.status == 201
    assert v2.blob(digest_text(DATA[:50])) == DATA[:50]


def test_a_patch_without_content_range_streams_at_the_next_byte() -> None:
    v2 = V2()
    location = v2.start()
    assert v2.patch(location, DATA[:100], stream=True).headers["Range"] == "0-99"
    assert v2.patch(location, DATA[100:130], stream=True).headers["Range"] == "0-129"
    assert v2.put(location, digest_text(DATA[:130])).status == 201
    assert v2.blob(digest_text(DATA[:130])) == DATA[:130]


def test_an_empty_patch_changes_nothing() -> None:
    v2 = V2()
    location = v2.start()
    v2.patch(location, DATA[:20], 0)
    response = v2.patch(location, b"")
    assert (response.status, response.headers["Range"]) == (201, "0-19")


def test_a_blob_in_one_post_is_pushed() -> None:
    v2 = V2()
    response = v2.call(
        "POST",
        "/v2/team/app/blobs/uploads/",
        query=f"digest={digest_text(DATA)}",
        headers={"Content-Length": str(len(DATA))},
        body=io.BytesIO(DATA),
    )
    assert response.status == 201
    assert response.headers["Location"] == f"/v2/team/app/blobs/{digest_text(DATA)}"
    assert v2.blob(digest_text(DATA)) == DATA


def test_a_refused_blob_in_one_post_leaves_no_upload_behind() -> None:
    v2 = V2()
    response = v2.call(
        "POST", "/v2/team/app/blobs/uploads/", query=f"digest={digest_text(b'x')}", body=DATA
    )
    assert code(response) == (400, "DIGEST_INVALID")
    assert v2.registry.session(UploadId("00000000-0000-0000-0000-000000000000")) is None


EMPTY = digest_text(b"")


def post_then_put_nothing(v2: V2) -> OciResponse:
    return v2.put(v2.start(), EMPTY)


def post_nothing(v2: V2) -> OciResponse:
    return v2.call("POST", "/v2/team/app/blobs/uploads/", query=f"digest={EMPTY}")


@pytest.mark.parametrize("push", [post_then_put_nothing, post_nothing])
def test_a_zero_byte_blob_is_empty_upload_at_ecr_and_pushed_under_the_spec(
    push: Callable[[V2], OciResponse],
) -> None:
    ecr = V2()
    response = push(ecr)
    assert code(response) == (400, "BLOB_UPLOAD_INVALID")
    assert "does not have any parts" in str(error(response)["message"])
    assert ecr.call("HEAD", f"/v2/team/app/blobs/{EMPTY}").status == 404
    spec = V2(dialect=Dialect.OCI)
    assert push(spec).status == 201
    head = spec.call("HEAD", f"/v2/team/app/blobs/{EMPTY}")
    assert (head.status, head.headers["Content-Length"]) == (200, "0")
    assert spec.blob(EMPTY) == b""


def test_a_blob_the_repository_holds_already_is_created_and_its_upload_ended() -> None:
    v2 = V2()
    v2.push(DATA)
    location = v2.start()
    response = v2.put(location, digest_text(DATA), DATA)
    assert response.status == 201
    assert response.headers["Docker-Content-Digest"] == digest_text(DATA)
    assert code(v2.call("GET", location)) == (404, "BLOB_UPLOAD_UNKNOWN")


def test_a_blob_over_the_layer_quota_is_size_invalid() -> None:
    v2 = V2(limits=Limits(max_part_bytes=64, min_part_bytes=16, part_size=32, max_parts=2))
    location = v2.start()
    response = v2.patch(location, DATA[:200], 0)  # four parts of 50
    assert code(response) == (400, "SIZE_INVALID")
    assert error(response)["detail"]["__type"] == "LimitExceededException"  # type: ignore[index]
    assert v2.call("GET", location).headers["Range"] == "0-99"


# ---------------------------------------------------------------------------------------
# Chunks cut into parts


class RecordingStore(MemoryStore):
    """Records the size of each part the registry stores."""

    def __init__(self) -> None:
        super().__init__(keep_layers=True)
        self.part_sizes: list[int] = []

    def append_part(
        self, held: HeldUpload, following: UploadSession, blob: memoryview, now: float
    ) -> bool:
        self.part_sizes.append(len(blob))
        return super().append_part(held, following, blob, now)


def recording_v2() -> tuple[V2, RecordingStore]:
    v2 = V2()
    store = RecordingStore()
    v2.registry._store = store
    v2.registry.create_repository("team/app")
    return v2, store


@pytest.mark.parametrize("stream", [False, True], ids=["bytes", "stream"])
def test_a_chunk_larger_than_a_part_is_cut_into_near_equal_parts(stream: bool) -> None:
    v2, store = recording_v2()
    location = v2.start()
    # 130 bytes: 64 + 64 + 2 would leave a 2-byte part; 44 + 43 + 43 leaves none small.
    v2.patch(location, DATA[:130], 0, stream=stream)
    assert store.part_sizes == [44, 43, 43]
    v2.patch(location, DATA[130:150], 130, stream=stream)
    assert v2.put(location, digest_text(DATA[:150])).status == 201


@given(length=st.integers(0, 10_000), maximum=st.integers(1, 1_000))
def test_part_sizes_are_the_fewest_near_equal_parts(length: int, maximum: int) -> None:
    sizes = part_sizes(length, maximum)
    assert sum(sizes) == length
    assert len(sizes) == -(-length // maximum)
    assert all(0 < size <= maximum for size in sizes)
    assert max(sizes, default=0) - min(sizes, default=0) <= 1
    if length > maximum:
        assert all(size * 2 >= maximum for size in sizes)


@given(length=st.integers(1, 600))
def test_a_stream_without_a_length_is_cut_into_parts_none_of_them_small(length: int) -> None:
    v2, store = recording_v2()
    location = v2.start()
    response = v2.patch(location, (DATA * 2)[:length], stream=True, announced=False)
    assert response.headers["Range"] == f"0-{length - 1}"
    assert sum(store.part_sizes) == length
    assert all(size <= LIMITS.max_part_bytes for size in store.part_sizes)
    assert all(size >= LIMITS.min_part_bytes for size in store.part_sizes[:-1])
    if length >= LIMITS.min_part_bytes:
        assert store.part_sizes[-1] >= LIMITS.min_part_bytes


def test_a_stream_without_a_length_goes_in_parts_of_the_most_then_cuts_the_rest() -> None:
    v2, store = recording_v2()
    v2.patch(v2.start(), DATA[:326], stream=True, announced=False)
    # Parts of the maximum while more than max + min bytes remain, then the rest (70
    # bytes) cut as a chunk of that length: never a small part.
    assert store.part_sizes == [64, 64, 64, 64, 35, 35]


#: Chunks of a blob that obey ECR's rule: each at least the minimum, but the last.
obeying_chunks = st.lists(st.integers(16, 300), max_size=4).flatmap(
    lambda sizes: st.integers(1, 300).map(lambda last: [*sizes, last])
)


@given(
    sizes=obeying_chunks,
    data=st.data(),
    ranged=st.booleans(),
    stream=st.booleans(),
    announced=st.booleans(),
    last_in_put=st.booleans(),
)
def test_any_chunking_that_obeys_the_rule_pushes_the_blobs_digest(
    *,
    sizes: list[int],
    data: st.DataObject,
    ranged: bool,
    stream: bool,
    announced: bool,
    last_in_put: bool,
) -> None:
    blob = data.draw(st.binary(min_size=sum(sizes), max_size=sum(sizes)))
    v2 = V2()
    location = v2.start()
    chunks, first = [], 0
    for size in sizes:
        chunks.append((first, blob[first : first + size]))
        first += size
    final = chunks.pop() if last_in_put else (0, b"")
    for first, chunk in chunks:
        response = v2.patch(
            location, chunk, first if ranged else None, stream=stream, announced=announced
        )
        assert response.status == 201, error(response)
    headers = {"Content-Length": str(len(final[1]))}
    if final[1] and ranged:
        headers["Content-Range"] = f"{final[0]}-{final[0] + len(final[1]) - 1}"
    body = io.BytesIO(final[1]) if stream else final[1]
    response = v2.call(
        "PUT", location, query=f"digest={digest_text(blob)}", headers=headers, body=body
    )
    assert response.status == 201, error(response)
    assert response.headers["Docker-Content-Digest"] == digest_text(blob)
    assert v2.blob(digest_text(blob)) == blob


@pytest.mark.parametrize("seed", range(trials()))
def test_two_patches_racing_over_one_range_leave_one_of_them_whole(seed: int) -> None:
    v2 = V2()
    location = v2.start()
    # Two different chunks of three parts each, sent at once to the same bytes.
    chunks = [DATA[:130], DATA[130:260]]
    answers = race(*(lambda chunk=chunk: v2.patch(location, chunk, 0).status for chunk in chunks))
    assert answers in ([201, 416], [416, 201])
    winner = chunks[answers.index(201)]
    assert v2.call("GET", location).headers["Range"] == "0-129"
    assert v2.put(location, digest_text(winner)).status == 201
    assert v2.blob(digest_text(winner)) == winner
