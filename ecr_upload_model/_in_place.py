"""Reads a request body whose blob is decoded from the body's own bytes.

A 20 MiB part arrives as a 28 MB body. Parsed whole, the body becomes a 28 MB text,
then a 28 MB string of base64 inside it, then the 20 MiB part: twice the body beyond
the part itself. Here the body is parsed without the blob's text (a few hundred bytes)
and the text is decoded from a view of the body, so the part is the one copy.

This is only a shortcut: it answers for a body of the plain form clients send
(``"layerPartBlob": "<strict base64>"`` at the top level) and leaves every other body,
valid or not, to the whole parse, so that both give the same request or error.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable
from typing import Final

from . import _shapes
from .errors import EcrError

#: JSON whitespace, the colon after a key, whitespace, and a string's opening quote.
_VALUE_START: Final = re.compile(rb'[ \t\n\r]*:[ \t\n\r]*"')


def parse_in_place(
    body: bytes, request_type: type, parse: Callable[[bytes], object]
) -> object | None:
    """``parse(body)`` with the blob member already decoded, or ``None`` when the body is
    not of the plain form (then ``parse(body)`` gives the answer).

    The blob's text is cut out of the body, leaving two quotes side by side; ``parse``
    reads the rest. Neither quote is escaped (a colon or a space is before the first),
    so if the rest is JSON they are an empty string; if the rest holds no other ``""``
    and its blob member is the empty string, that member is the cut. The text is the
    member's value when it is strict base64: no escape, quote or control character.
    """
    blob = _shapes.blob_member(request_type)
    if blob is None:
        return None
    member, shape = blob
    key = body.find(b'"' + member.encode("ascii") + b'"')
    if key < 0:
        return None
    value_start = _VALUE_START.match(body, key + len(member) + 2)
    if value_start is None:
        return None
    start = value_start.end()  # the first character of the text
    end = body.find(b'"', start)
    if end < 0 or end - start > shape.max_text_length:
        return None
    rest = body[:start] + body[end:]
    if rest.count(b'""') != 1:
        return None
    try:
        obj = parse(rest)
    except EcrError:
        return None
    if type(obj) is not dict or obj.get(member) != "":
        return None
    try:
        data = _shapes._b64decode(memoryview(body)[start:end])
    except (binascii.Error, ValueError):
        return None
    obj[member] = _shapes.DecodedInPlace(data)
    return obj
