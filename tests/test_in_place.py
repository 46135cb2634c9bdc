"""The in-place blob reading (``_in_place``) is only a shortcut: for every body, the wire
entry gives the same request or the same error as parsing the whole body would."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ecr_upload_model import EcrError, SerializationException, UploadLayerPartRequest, _in_place
from ecr_upload_model._in_place import WINDOW_BYTES, parse_in_place
from ecr_upload_model.limits import BODY_SLACK_BYTES
from ecr_upload_model.operations import CompleteLayerUploadRequest
from ecr_upload_model.wire import TARGET_PREFIX, decode_request, parse_body

TARGET = f"{TARGET_PREFIX}.UploadLayerPart"
TOO_LARGE = SerializationException("too large")
UPLOAD_ID = "0a1b2c3d-0000-4000-8000-000000000000"


def whole_parse(body: bytes) -> object:
    """What the body says read the long way: the outcome the shortcut must equal."""
    try:
        return UploadLayerPartRequest.from_wire(parse_body(body))
    except EcrError as error:
        return error


def through_the_wire(body: bytes | bytearray | memoryview) -> object:
    try:
        return decode_request(TARGET, body)
    except EcrError as error:
        return error


def request_body(blob: str, **members: object) -> bytes:
    obj = {
        "repositoryName": "team/app",
        "uploadId": UPLOAD_ID,
        "partFirstByte": 0,
        "partLastByte": 2,
        "layerPartBlob": blob,
        **members,
    }
    return json.dumps(obj).encode("ascii")


VALID_MEMBERS = (
    f'"repositoryName": "team/app", "uploadId": "{UPLOAD_ID}", "partFirstByte": 0, '
    '"partLastByte": 2'
).encode("ascii")

# Bodies a shortcut could misread: escapes in or around the blob, the key inside another
# string, a nested or repeated key, other empty strings, non-ASCII, broken JSON. The other
# members are valid, so that the blob decides the outcome.
TRICKY_BODIES = [
    request_body("YWJj"),
    request_body(""),
    *(
        b"{" + VALID_MEMBERS + b", " + members + b"}"
        for members in (
            b'"layerPartBlob": "YW\\u004aj"',
            b'"layerPartBlob": "YWJj\\/"',
            b'"x": "\\"layerPartBlob\\": \\"YWJj\\"", "layerPartBlob": "YWJk"',
            b'"\\"layerPartBlob": "YWJj", "layerPartBlob": "YWJk"',
            b'"x": {"layerPartBlob": "YWJj"}, "layerPartBlob": "YWJk"',
            b'"x": {"layerPartBlob": "YWJj"}, "layerPartBlob": ""',
            b'"x": ["\\"layerPartBlob": "YWJj"], "layerPartBlob": ""',
            b'"x": ["\\"layerPartBlob", "YWJj"], "layerPartBlob": ""',
            b'"layerPartBlob": "YWJj", "layerPartBlob": "YWJk"',
            b'"registryId": "", "layerPartBlob": "YWJj"',
            b'"layerPartBlob" :\n "YWJj" ',
            b'"layerPartBlob": "YWJj"" ',
            b'"layerPartBlob": "YW\xff"',
            b'"layerPartBlob": "YW\tJj"',
            b'"layerPartBlob": "YWJj", "x": "t\xc3\xa9am"',
            b'"x": "t\xffam", "layerPartBlob": "YWJj"',
            b'"layerPartBlob": "YWJj", "x": NaN',
            b'"layerPartBlob": "YWJj="',
            b'"layerPartBlob": "YW Jj"',
            b'"layerPartBlob": "YW-_"',
        )
    ),
    b'{"layerPartBlob": "YWJj"',
    b'["layerPartBlob", "YWJj"]',
]


def test_each_tricky_body_reads_as_the_whole_parse_reads_it() -> None:
    for body in TRICKY_BODIES:
        assert through_the_wire(body) == whole_parse(body), body


@given(
    blob=st.binary(max_size=64).map(lambda data: base64.b64encode(data).decode("ascii")),
    cut=st.integers(min_value=0, max_value=400),
    insert=st.sampled_from(
        [b'"', b"\\", b'""', b" ", b":", b"\\/", b"\\u0041", b"\xff", b"{", b"}", b"\t"]
    ),
)
@example(blob="YWJj", cut=0, insert=b'"')
def test_a_body_damaged_anywhere_reads_as_the_whole_parse_reads_it(
    blob: str, cut: int, insert: bytes
) -> None:
    body = request_body(blob)
    damaged = body[:cut] + insert + body[cut:]
    assert through_the_wire(damaged) == whole_parse(damaged)


def test_the_blob_is_read_in_place_however_json_spells_it() -> None:
    """Escapes, whitespace, the blob first or among other members: the blob's string is
    read from the body, not by the whole parse."""
    for spelling in (b'"YWJj"', b'"YWJj\\/"'[:-3] + b'\\/"', b'"\\u0059WJj"', b'"YW\\/j"'):
        for body in (
            b'{"layerPartBlob": ' + spelling + b', "repositoryName": "t\xc3\xa9am"}',
            b'{ "x" : {"layerPartBlob": "A"} ,\n"layerPartBlob"\t:\r' + spelling + b"}",
        ):
            in_place = parse_in_place(memoryview(body), UploadLayerPartRequest, TOO_LARGE)
            assert in_place is not None, body
            obj, blob = in_place
            # The blob is handed beside the object, which no longer holds it.
            assert "layerPartBlob" not in obj
            text = json.loads(spelling)
            assert blob.text_length == len(text), body
            assert blob.data == (base64.b64decode(text) if len(text) % 4 == 0 else None), body
    # A request without a blob member has nothing to read in place.
    assert parse_in_place(memoryview(b"{}"), CompleteLayerUploadRequest, TOO_LARGE) is None


@given(
    data=st.binary(max_size=48),
    escapes=st.lists(st.sampled_from(["/", "u", "U", "ws"]), max_size=8),
    blob_first=st.booleans(),
    other=st.sampled_from(["", "t\u00e9am \U0001f600", "\\u00e9", '\\"layerPartBlob\\": \\"x\\"']),
)
def test_every_spelling_of_a_valid_body_reads_as_the_whole_parse_reads_it(
    data: bytes, escapes: list[str], blob_first: bool, other: str
) -> None:
    """Escapes in the blob (``\\/``, ``\\u0041`` in either case), whitespace, another member
    with non-ASCII text or the blob's key inside a string, the blob first or last."""
    text = base64.b64encode(data).decode("ascii")
    for index, escape in enumerate(escapes):
        at = index * 3 % (len(text) + 1)
        if escape == "/":
            text = text[:at] + "\\/" + text[at:]
        elif escape in "uU" and at < len(text):
            code = f"\\u{ord(text[at]):04x}"
            text = (
                text[:at]
                + (code if escape == "u" else code.upper().replace("\\U", "\\u"))
                + text[at + 1 :]
            )
    blob = f'"layerPartBlob" :\t"{text}"'.encode()
    members = VALID_MEMBERS + f', "note": "{other}"'.encode()
    body = b"{" + (blob + b",\n " + members if blob_first else members + b" , " + blob) + b"}"
    assert through_the_wire(body) == whole_parse(body)
    assert not isinstance(through_the_wire(body), EcrError) or escapes, body


def test_an_error_at_the_first_character_of_a_later_window_is_placed_as_in_the_whole_body() -> None:
    """A blob's text is read a window at a time: an error that opens a window after the
    first is counted from the start of the body, not of its window."""
    text = "A" * WINDOW_BYTES + "\x01" + "AAA"
    body = request_body(text).replace(b"\\u0001", b"\x01")
    refused = through_the_wire(body)
    assert isinstance(refused, SerializationException)
    assert refused == whole_parse(body)
    assert f"at character {body.index(bytes([1]))}" in refused.message


# ---------------------------------------------------------------------------------------
# Windows: an escaped blob's text is read a window at a time, and the bytes after a JSON
# error in it are checked for UTF-8 a window at a time. Swept at every offset with small
# windows (a body over 1 MiB takes the whole parse a tenth of a second), and at a few
# offsets with the real ones.

SMALL_WINDOW = 64
BLOB_START = b"{" + VALID_MEMBERS + b', "layerPartBlob": "'

# What a window's end may fall in: escapes (of up to twelve bytes, a surrogate pair; after
# or before a run of escaped backslashes), UTF-8 characters of two to four bytes, and what
# the whole parse refuses: a byte that is not UTF-8, a truncated character, a control
# character, a closing quote with text after it.
STRADDLERS = [
    b"\\/",
    b"\\u0041",
    b"\\ud83d\\ude00",
    b"\\\\" * 6 + b"\\/",
    b"\\\\" * 3 + b"\\u0041",
    b"\\u0041" + b"\\\\" * 3,
    b"\xc3\xa9" + b"\\\\" * 3,
    b"\xc3\xa9" * 4,
    b"\xe2\x82\xac",
    b"\xf0\x9f\x98\x80",
    b"\xff",
    b"\xe2\x82",
    b"\x01",
    b'"',
]


@pytest.fixture
def small_windows(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(_in_place, "WINDOW_BYTES", SMALL_WINDOW)
    return SMALL_WINDOW


def reads_as_the_whole_parse(body: bytes) -> object:
    outcome = through_the_wire(body)
    assert outcome == whole_parse(body), body
    return outcome


def blob_of(text: bytes, end: bytes = b'"}') -> bytes:
    """A body whose blob's text is ``text``, padded to whole quads when it is valid."""
    try:
        length = len(json.loads(b'"' + text + b'"'))
    except ValueError:
        length = 0
    return BLOB_START + text + b"A" * (4 - length % 4) + end


def test_whatever_a_window_ends_in_reads_as_the_whole_parse_reads_it(small_windows: int) -> None:
    for straddler in STRADDLERS:
        for at in range(2 * small_windows + 4):
            reads_as_the_whole_parse(blob_of(b"\\/" * (at % 2) + b"A" * at + straddler + b"A" * 16))


def test_a_run_of_backslashes_longer_than_a_window_reads_as_the_whole_parse_reads_it(
    small_windows: int,
) -> None:
    for length in range(2 * small_windows, 2 * small_windows + 4):
        refused = reads_as_the_whole_parse(blob_of(b"A" * (length % 3) + b"\\" * length))
        assert isinstance(refused, SerializationException)


def test_an_escaped_blob_of_several_windows_is_read_whole(small_windows: int) -> None:
    for length in range(3 * small_windows, 3 * small_windows + 4):
        body = blob_of(b"\\/" + b"A" * length + b"\\u0041")
        request = reads_as_the_whole_parse(body)
        assert isinstance(request, UploadLayerPartRequest)
        text = json.loads(body)["layerPartBlob"]
        assert bytes(request.layer_part_blob) == base64.b64decode(text)


def test_an_error_after_an_escaped_blob_of_several_windows_is_placed_as_in_the_whole_body(
    small_windows: int,
) -> None:
    for length in range(3 * small_windows, 3 * small_windows + 4):
        for end in (b'", "x": NaN}', b'" "x"}', b'\x01"}', b"", b"\\u00"):
            refused = reads_as_the_whole_parse(blob_of(b"\\/" + b"A" * length, end))
            assert isinstance(refused, SerializationException), end


def test_a_byte_not_utf8_after_an_error_in_the_blob_answers_first_wherever_it_is(
    small_windows: int,
) -> None:
    """A JSON error in the blob's first window; the first byte that is not UTF-8 may lie
    in any window after it, straddle a window's end, or be the body's last byte."""
    for bad in (b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\xff"):
        for at in range(1, 3 * small_windows):
            refused = reads_as_the_whole_parse(blob_of(b"\x01" + b"\xc3\xa9" * at + bad + b"A"))
            assert isinstance(refused, SerializationException)
            refused = reads_as_the_whole_parse(blob_of(b"\x01" + b"\xc3\xa9" * at, b'"}' + bad))
            assert isinstance(refused, SerializationException)


def test_at_the_real_window_size_what_a_window_ends_in_reads_as_the_whole_parse_reads_it() -> None:
    for straddler, at in (
        (b"\\u0041", WINDOW_BYTES - 3),
        (b"\\\\" * 6 + b"\\/", WINDOW_BYTES - 13),
        (b"\xe2\x82\xac", WINDOW_BYTES - 1),
        (b"\xff", WINDOW_BYTES),
    ):
        reads_as_the_whole_parse(blob_of(b"\\/" + b"A" * (at - 2) + straddler))


def test_a_body_written_without_whitespace_is_read_in_place_at_any_size() -> None:
    """The walk to the blob reads members written as compactly as JSON allows: a body too
    large to be parsed whole is still read."""
    obj = json.loads(request_body(base64.b64encode(bytes(BODY_SLACK_BYTES)).decode("ascii")))
    body = json.dumps({"x": [1, {}], **obj}, separators=(",", ":")).encode("ascii")
    assert isinstance(reads_as_the_whole_parse(body), UploadLayerPartRequest)


def test_a_body_given_as_a_view_into_a_larger_buffer_reads_as_itself() -> None:
    """The view's offsets are its own, whatever the buffer holds around it."""
    for body in (*TRICKY_BODIES, request_body("YWJjYWJj"), BLOB_START + b"YWJjY"):
        for around in (b"", b'"', b"\\" * 8):
            for buffer in (around + body + around, bytearray(around + body + around)):
                view = memoryview(buffer)[len(around) : len(around) + len(body)]
                assert through_the_wire(view) == whole_parse(body), (around, body)
