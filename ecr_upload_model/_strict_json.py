"""The strict JSON reading of a request body, in parts the in-place reading can reuse.

Stricter than :func:`json.loads` on purpose, so that no two readers of one body can
disagree on what it says (a proxy that checks a body and the server behind it): UTF-8
only, no ``NaN`` or infinities, no key twice in one object, no integer longer than any
long. And bounded before the parser runs: no deeper nesting than ``MAX_NESTING_DEPTH``
(the parser recurses, and a thread's stack, not Python's recursion limit, would decide
how deep it may go) and no more values than ``MAX_JSON_VALUES``.

Errors carry positions; a caller that parsed a body with a stretch cut out gives the
stretch (``Cut``), and positions after it are told as in the whole body.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any, Final, NamedTuple, NoReturn

from .errors import SerializationException
from .limits import MAX_JSON_VALUES, MAX_NESTING_DEPTH, MIN_LONG

#: A JSON integer of more characters than the smallest long cannot be any member of
#: these operations (each number is a long); refusing it early keeps parsing linear.
MAX_INTEGER_CHARACTERS: Final = len(str(MIN_LONG))


class Cut(NamedTuple):
    """A stretch left out of a body: ``length`` units removed at position ``at``."""

    at: int
    length: int

    def restore(self, position: int) -> int:
        """The position in the whole body of a position in the body without the stretch."""
        return position + self.length if position >= self.at else position


NO_CUT: Final = Cut(0, 0)


def _refuse_constant(name: str) -> NoReturn:
    raise SerializationException(f"{name} is not a JSON number")


def _parse_integer(text: str) -> int:
    if len(text) > MAX_INTEGER_CHARACTERS:
        raise SerializationException("NUMBER_VALUE is out of the range of a Long")
    return int(text)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        counts = Counter(key for key, _ in pairs)
        duplicate = next(key for key, count in counts.items() if count > 1)
        raise SerializationException(f"The key '{duplicate}' appears twice in one object")
    return obj


DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_object, parse_int=_parse_integer, parse_constant=_refuse_constant
)


def text_of(body: bytes | bytearray | memoryview, cut: Cut = NO_CUT) -> str:
    """The body's text, or SerializationException naming the first byte that is not UTF-8."""
    try:
        return str(body, "utf-8")
    except UnicodeDecodeError as error:
        raise not_utf8(cut.restore(error.start)) from None


def not_utf8(byte: int) -> SerializationException:
    return SerializationException(f"The request body is not UTF-8 (byte {byte})")


def not_json(error: json.JSONDecodeError, cut: Cut = NO_CUT) -> SerializationException:
    return SerializationException(
        f"The request body is not JSON: {error.msg} at character {cut.restore(error.pos)}"
    )


def loads(text: str, cut: Cut = NO_CUT) -> object:
    """The JSON value of a text whose structure ``check_structure`` accepted."""
    try:
        if text.startswith("\ufeff"):  # as json.loads refuses it
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        return DECODER.decode(text)
    except json.JSONDecodeError as error:
        raise not_json(error, cut) from None


# The tokens that make the structure, each a group (``lastindex`` names it without making
# an object): an escape (skipped, so an escaped quote ends no string), a quote, an opening
# and a closing bracket, a comma. One token at a time keeps the memory constant.
_TOKEN: Final = re.compile(rb'(\\.)|(")|([\[{])|([\]}])|(,)', re.DOTALL)
_QUOTE, _OPEN, _CLOSE, _COMMA = 2, 3, 4, 5


def check_structure(body: bytes | bytearray | memoryview) -> None:
    """Refuses a body nested deeper than ``MAX_NESTING_DEPTH`` or holding more than
    ``MAX_JSON_VALUES`` values, in time linear in its length and without recursion.

    Outside strings, a value is the whole body or follows a comma or an opening bracket:
    their count bounds the values (and members) the parser would make.
    """
    in_string = False
    depth = 0
    values = 1
    for token in _TOKEN.finditer(body):
        kind = token.lastindex
        if kind == _QUOTE:
            in_string = not in_string
        elif in_string:
            continue
        elif kind == _OPEN:
            depth += 1
            values += 1
            if depth > MAX_NESTING_DEPTH:
                raise SerializationException("The request body is nested too deeply")
        elif kind == _CLOSE:
            depth -= 1
        elif kind == _COMMA:
            values += 1
        if values > MAX_JSON_VALUES:
            raise SerializationException(
                f"The request body holds more than {MAX_JSON_VALUES} JSON values"
            )


def parse(body: bytes | bytearray | memoryview) -> object:
    """The strict JSON value of a whole body."""
    check_structure(body)
    return loads(text_of(body))
