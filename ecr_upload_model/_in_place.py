"""Reads a request body whose blob is decoded from the body's own bytes.

A 20 MiB part arrives as a 28 MB body. Parsed whole, the body becomes a 28 MB text,
then a 28 MB string of base64 inside it, then the 20 MiB part: twice the body beyond
the part itself. Here the top-level object is walked to the blob member's string, the
string's text is cut out, the rest (at most ``BODY_SLACK_BYTES``) is parsed, and the text
is decoded from a view of the body: the part is the one copy. A text with escapes (JSON
allows ``\\/`` and ``\\u0041`` in any string) is decoded a window at a time, so the part is
still the one copy of any size, with the windows and the joining of their bytes.

The answer is the whole parse's, error for error: the first byte that is not UTF-8 in
the whole body, the first JSON error in the whole body (at its position in the whole
body), then the shape's. A body whose top level cannot be walked to a blob string is
parsed whole, if it is small enough to be a part's body without its blob.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from typing import Final, NamedTuple

from . import _shapes, _strict_json
from ._shapes import DecodedBlob
from ._strict_json import Cut
from .errors import SerializationException
from .limits import BODY_SLACK_BYTES

# The standard library's JSON scanner (in C), which its stubs leave out.
_scanstring: Final[Callable[[str, int], tuple[str, int]]] = json.decoder.scanstring  # type: ignore[attr-defined]
_SCAN_ONCE: Final[Callable[[str, int], tuple[object, int]]] = _strict_json.DECODER.scan_once  # type: ignore[attr-defined]
_WHITESPACE: Final = re.compile(r"[ \t\n\r]*")
#: The window in which an escaped blob's text is decoded.
WINDOW_BYTES: Final = 1 << 20
#: The longest escape (a surrogate pair, ``\ud83d\ude00``): a window never ends in one.
_LONGEST_ESCAPE: Final = 12


#: The first bytes of a body in which the blob is looked for; then BODY_SLACK_BYTES.
FIRST_HEAD_BYTES: Final = 4096
#: The walk came to the end of the head.
_HEAD_ENDED: Final = -1


def _blob_string_start(head: bytes, member: str) -> int | None:
    """The offset of the first byte of the top-level ``member``'s string text, if the
    top-level object of ``head`` can be read up to it, each member before it in full
    (``_HEAD_ENDED`` if the head ends before)."""
    text = str(head, "utf-8", "surrogateescape")  # every byte is one character, or its own
    try:
        at = _WHITESPACE.match(text).end()  # type: ignore[union-attr]
        if text[at] != "{":
            return None
        at = _WHITESPACE.match(text, at + 1).end()  # type: ignore[union-attr]
        while text[at] == '"':
            key, at = _scanstring(text, at + 1)
            at = _WHITESPACE.match(text, at).end()  # type: ignore[union-attr]
            if text[at] != ":":
                return None
            at = _WHITESPACE.match(text, at + 1).end()  # type: ignore[union-attr]
            if key == member:
                if text[at] != '"':
                    return None
                return len(text[: at + 1].encode("utf-8", "surrogateescape"))
            _, at = _SCAN_ONCE(text, at)
            at = _WHITESPACE.match(text, at).end()  # type: ignore[union-attr]
            if text[at] != ",":
                return None
            at = _WHITESPACE.match(text, at + 1).end()  # type: ignore[union-attr]
    except (IndexError, StopIteration, ValueError):  # the head ends, or is not JSON
        return _HEAD_ENDED
    return None


class _Window(NamedTuple):
    start: int  #: its first byte in the body
    text: str  #: its source text (escapes as written)


def _windows(view: memoryview, start: int) -> Iterator[_Window | int]:
    """The body from ``start`` in windows of source text that split no character and no
    escape; an int is the body offset of a byte that is not UTF-8 (and the end)."""
    while start < len(view):
        end = min(start + WINDOW_BYTES, len(view))
        if end < len(view):
            tail = bytes(view[end - _LONGEST_ESCAPE : end])
            backslash = tail.find(b"\\")
            if backslash >= 0:  # end before the run of backslashes the escape is in
                end -= _LONGEST_ESCAPE - backslash
                run_end = end
                while end > start and view[end - 1] == 0x5C:
                    end -= 1
                if end == start:  # all backslashes from a window's start: whole `\\` pairs
                    end = start + (run_end - start) // 2 * 2
            else:  # end before a character's first byte
                for _ in range(3):
                    if view[end] & 0xC0 != 0x80:
                        break
                    end -= 1
        chunk = view[start:end]
        try:
            yield _Window(start, str(chunk, "utf-8"))
        except UnicodeDecodeError as error:
            if error.start:
                yield _Window(start, str(chunk[: error.start], "utf-8"))
            yield start + error.start
            return
        start = end


class _Blob(NamedTuple):
    """What the blob's string was, as the whole parse would find it."""

    end: int | None  #: the offset of its closing quote; None if it is not a JSON string
    source_characters: int  #: the characters of its source text (for error positions)
    text_length: int  #: the characters of its value
    data: bytes | None  #: its value decoded, when the value is strict base64
    error_window: _Window | None  #: the window holding its JSON error
    bad_byte: int | None  #: the offset of its first byte that is not UTF-8


class _Base64Decoder:
    """Decodes a strict base64 text given in pieces; ``data`` is None once it is not."""

    def __init__(self, max_text_length: int, decoder: _shapes.Base64Decoder) -> None:
        self._max_text_length = max_text_length
        self._decoder = decoder
        self._pending = ""
        self._parts: list[bytes] | None = []
        self.length = 0

    def feed(self, piece: str) -> None:
        self.length += len(piece)
        if self._parts is None:
            return
        if self.length > self._max_text_length or "=" in self._pending:
            self._parts = None  # too long to decode; or `=` before the last quad
            return
        text = self._pending + piece
        whole = len(text) - len(text) % 4
        self._pending = text[whole:]
        if whole:
            self._decode(text[:whole])

    def _decode(self, text: str) -> None:
        try:
            assert self._parts is not None
            ascii_text = memoryview(text.encode("ascii"))
            self._parts.append(_shapes._b64decode(ascii_text, self._decoder))
        except ValueError:  # binascii.Error, or non-ASCII text (UnicodeEncodeError)
            self._parts = None

    def data(self) -> bytes | None:
        if self._parts is not None and self._pending:
            self._decode(self._pending)  # an incomplete quad: refused
        return None if self._parts is None else b"".join(self._parts)


def _scan_escaped(
    view: memoryview, start: int, max_text_length: int, base64_decoder: _shapes.Base64Decoder
) -> _Blob:
    decoder = _Base64Decoder(max_text_length, base64_decoder)
    characters = 0
    for window in _windows(view, start):
        if isinstance(window, int):
            return _Blob(None, characters, decoder.length, None, None, window)
        try:
            value, stop = _scanstring(window.text + '"', 0)
        except json.JSONDecodeError:
            return _Blob(None, characters, decoder.length, None, window, None)
        decoder.feed(value)
        if stop <= len(window.text):  # the string's own closing quote
            end = window.start + len(window.text[: stop - 1].encode("utf-8"))
            return _Blob(end, characters + stop - 1, decoder.length, decoder.data(), None, None)
        characters += len(window.text)
    # No closing quote: the whole parse says the string is unterminated.
    return _Blob(None, characters, decoder.length, None, _Window(len(view), ""), None)


def _find(view: memoryview, needle: bytes, start: int, end: int) -> int:
    """``view.find(needle, start, end)``, which a memoryview lacks."""
    whole = view.obj
    if isinstance(whole, (bytes, bytearray)) and len(whole) == view.nbytes:
        return whole.find(needle, start, end)  # memchr: several times a regex's speed
    found = re.compile(re.escape(needle)).search(view, start, end)
    return -1 if found is None else found.start()


def _scan(
    view: memoryview, start: int, max_text_length: int, decoder: _shapes.Base64Decoder
) -> _Blob:
    end = _find(view, b'"', start, len(view))
    if 0 <= end - start <= max_text_length and _find(view, b"\\", start, end) < 0:
        try:  # the plain form clients send: strict base64, no escape
            data = _shapes._b64decode(view[start:end], decoder)
        except ValueError:  # binascii.Error, or non-ASCII text
            pass
        else:
            return _Blob(end, end - start, end - start, data, None, None)
    return _scan_escaped(view, start, max_text_length, decoder)


def _first_bad_byte(view: memoryview, start: int) -> int | None:
    decoder = codecs.getincrementaldecoder("utf-8")()
    for at in range(start, len(view), WINDOW_BYTES):
        chunk = view[at : at + WINDOW_BYTES]
        try:
            decoder.decode(chunk, final=at + WINDOW_BYTES >= len(view))
        except UnicodeDecodeError as error:
            # The decoder keeps an incomplete character from the chunk before.
            return at + error.start - len(decoder.getstate()[0])
    return None


def parse_in_place(
    view: memoryview,
    request_type: type,
    too_large: SerializationException,
    decoder: _shapes.Base64Decoder = _shapes.strict_a2b,
) -> tuple[dict[str, object], DecodedBlob] | None:
    """The strict JSON object of a body without its blob member, and the blob member as
    read from the body; or ``None`` when the body's top level cannot be walked to a blob
    string (then the whole parse answers, and ``too_large`` if the body is too large for
    it). ``decoder`` decodes the blob's text (a text with escapes in pieces)."""
    blob = _shapes.blob_member(request_type)
    if blob is None:
        return None
    member, shape = blob
    for size in (FIRST_HEAD_BYTES, BODY_SLACK_BYTES):
        head = bytes(view[:size])
        _strict_json.check_structure(head)  # the walk parses the members before the blob
        start = _blob_string_start(head, member)
        if start != _HEAD_ENDED or size >= len(view):
            break
    if start is None or start == _HEAD_ENDED:
        return None
    scanned = _scan(view, start, shape.max_text_length, decoder)
    prefix = view[:start]
    if scanned.end is None:
        # The string's text is not a JSON string: the first error of the whole body is a
        # byte that is not UTF-8, else its JSON error (in the string, or before it).
        if len(prefix) > BODY_SLACK_BYTES:
            raise too_large
        _strict_json.check_structure(prefix)
        prefix_text = _strict_json.text_of(prefix)
        if scanned.bad_byte is not None:
            raise _strict_json.not_utf8(scanned.bad_byte)
        assert scanned.error_window is not None
        window = scanned.error_window
        bad_byte = _first_bad_byte(view, window.start + len(window.text.encode("utf-8")))
        if bad_byte is not None:
            raise _strict_json.not_utf8(bad_byte)
        # The parse of the prefix and the window reaches the same first error: the text
        # between them is valid string text, which only moves the positions after it.
        cut = Cut(len(prefix_text), scanned.source_characters)
        _strict_json.loads(prefix_text + window.text, cut)
        raise AssertionError("the window holds a JSON error")  # pragma: no cover
    rest = bytes(prefix) + view[scanned.end :]
    if len(rest) > BODY_SLACK_BYTES:
        raise too_large
    _strict_json.check_structure(rest)
    text = _strict_json.text_of(rest, Cut(start, scanned.end - start))
    cut = Cut(len(str(prefix, "utf-8")), scanned.source_characters)
    obj = _strict_json.loads(text, cut)
    # The walk found the member at the top level, and a key twice is refused: it is the cut.
    assert type(obj) is dict
    cut_text = obj.pop(member)
    assert cut_text == ""
    return obj, DecodedBlob(scanned.data, scanned.text_length)
