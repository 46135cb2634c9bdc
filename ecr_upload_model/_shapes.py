"""The API model's member shapes: each member rule written once, read by every path.

Requests and responses declare their members as attrs fields carrying a :class:`Shape`
(:func:`member`). A shape's ``read`` is the one definition of its member's rules: the
JSON type first (SerializationException), then the constraints
(InvalidParameterException), in the order ECR answers them. :func:`read` (``from_wire``)
runs it for each member of a JSON object, and again on the members after a refused one
(a wrong JSON type anywhere answers before any constraint); ``validate`` (a field's attrs
validator) holds values built in Python to the same rules. The rules are public
attributes (``Long.minimum``, ``Blob.maximum``, ``List.min_items``, ``Text.max_length``,
``Identifier.rule``, and :func:`members` of a class) for whatever else needs them.
"""

from __future__ import annotations

import binascii
import contextlib
import datetime
import enum
import itertools
import linecache
import math
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Generic, NamedTuple, Protocol, TypeVar

import attrs

from .errors import InvalidParameterException, SerializationException, UsageError
from .identifiers import IdentifierT, RepositoryGrammar, TextRule
from .limits import MAX_LONG, MIN_LONG, base64_length

#: How many identifiers of one shape a reader keeps (equal texts give one shared value):
#: enough for a busy server's uploads. The package's own choice, not ECR's.
MAX_KEPT_IDENTIFIERS: Final = 1024
#: Only identifiers this short are kept: a repository name's maximum, which holds a sha512
#: digest (135 characters); so what is kept is at most 256 KiB of text per shape.
MAX_KEPT_IDENTIFIER_LENGTH: Final = 256

T = TypeVar("T")


def _token(raw: object) -> str:
    """The JSON token a value was, as AWS's Jackson-based services name it in messages."""
    if raw is None:
        return "VALUE_NULL"
    if raw is True:
        return "TRUE_VALUE"
    if raw is False:
        return "FALSE_VALUE"
    if isinstance(raw, str):
        return "STRING_VALUE"
    if isinstance(raw, (int, float)):
        return "NUMBER_VALUE"
    if isinstance(raw, list):
        return "START_ARRAY"
    if isinstance(raw, dict):
        return "START_OBJECT"
    return type(raw).__name__


def _not_convertible(raw: object, target: str) -> SerializationException:
    return SerializationException(f"{_token(raw)} can not be converted to a {target}")


def _longer_than(member: str, maximum: int) -> InvalidParameterException:
    return InvalidParameterException.constraint(
        member, f"must have length less than or equal to {maximum}"
    )


def _missing(member: str) -> InvalidParameterException:
    """A required member absent, or given as JSON ``null``."""
    return InvalidParameterException.constraint(member, "must not be null")


def _check_instance(value: object, type_: type, member: str) -> None:
    """Refuses a value built in Python that is not of the member's type."""
    if not isinstance(value, type_):
        raise InvalidParameterException.constraint(member, f"must be a {type_.__name__}")


class Shape(Protocol):
    """One member's shape; ``member`` is its wire name, for messages."""

    def read(self, raw: object, member: str) -> object:
        """The typed value of the member's JSON value (never ``None``): its JSON type is
        judged first, anywhere within it (SerializationException), then its constraints
        (InvalidParameterException)."""

    def encode(self, value: Any) -> object:
        """The JSON value of a typed member."""

    def validate(self, value: object, member: str) -> None:
        """Refuses a typed value built in Python that breaks the shape's rules."""

    def for_grammar(self, grammar: RepositoryGrammar) -> Shape:
        """The shape as a reader of ``grammar`` reads it: itself, but for repository
        names (and what holds them)."""


def _judge_json_types(reads: Iterable[tuple[Callable[[object, str], object], object, str]]) -> None:
    """Raises the first SerializationException of these reads (a member's reader, a JSON
    value, the member's name): the JSON types answer before any constraint."""
    for read_member, raw, member in reads:
        with contextlib.suppress(InvalidParameterException):
            read_member(raw, member)


@attrs.frozen
class Text:
    """A string member turned into a value by ``build`` (which holds its rule, if any),
    at most ``max_length`` characters; ``text`` gives a value's string back."""

    build: Callable[[str, str], object]
    type_: type
    text: Callable[[Any], str] = str
    max_length: int | None = None

    def read(self, raw: object, member: str) -> object:
        if type(raw) is not str:
            raise _not_convertible(raw, "String")
        if self.max_length is not None and len(raw) > self.max_length:
            raise _longer_than(member, self.max_length)
        return self.build(raw, member)

    def encode(self, value: Any) -> object:
        return self.text(value)

    def validate(self, value: object, member: str) -> None:
        _check_instance(value, self.type_, member)
        self.read(self.text(value), member)  # a value is valid if its text is

    def for_grammar(self, grammar: RepositoryGrammar) -> Shape:
        return self


def text_itself(text: str, member: str) -> str:
    """The ``build`` of a string member whose value is its text."""
    return text


@attrs.frozen
class Identifier(Generic[IdentifierT]):
    """A string member that is an identifier of ``type_``, judged by ``rule`` (``None``:
    the repository grammar the reader is given, the seed's by default).

    Identifiers read are kept (a server reads one registry id, name and upload id in
    part after part): up to MAX_KEPT_IDENTIFIERS of them, then all are forgotten at once.
    """

    type_: type[IdentifierT]
    rule: TextRule | None
    _kept: dict[str, IdentifierT] = attrs.field(factory=dict, init=False, repr=False, eq=False)

    def read(self, raw: object, member: str) -> object:
        if type(raw) is not str:
            raise _not_convertible(raw, "String")
        value = self._kept.get(raw)
        if value is None:
            rule = RepositoryGrammar.SEED.value if self.rule is None else self.rule
            value = rule.make(self.type_, raw, member)
            if len(raw) <= MAX_KEPT_IDENTIFIER_LENGTH:
                if len(self._kept) >= MAX_KEPT_IDENTIFIERS:
                    self._kept.clear()
                self._kept[raw] = value
        return value

    def encode(self, value: Any) -> object:
        return str(value)

    def validate(self, value: object, member: str) -> None:
        _check_instance(value, self.type_, member)  # it exists: its class checked it

    def for_grammar(self, grammar: RepositoryGrammar) -> Shape:
        return self if self.rule is not None else Identifier(self.type_, grammar.value)


@attrs.frozen
class Long:
    """A ``long``: a JSON integer in the signed 64-bit range, from ``minimum`` to
    ``maximum`` (``None``: no bound but the range's)."""

    minimum: int | None = 0
    maximum: int | None = None

    def read(self, raw: object, member: str) -> object:
        if type(raw) is not int:
            # A bool is an int in Python but `true` in JSON; a float may be NaN, an
            # infinity or a fraction: all are refused as the wrong JSON type.
            if type(raw) is float and not math.isfinite(raw):
                raise SerializationException(f"{raw!r} can not be converted to a Long")
            raise _not_convertible(raw, "Long")
        if not MIN_LONG <= raw <= MAX_LONG:
            raise SerializationException("NUMBER_VALUE is out of the range of a Long")
        if self.minimum is not None and raw < self.minimum:
            raise InvalidParameterException.constraint(
                member, f"must be greater than or equal to {self.minimum}"
            )
        if self.maximum is not None and raw > self.maximum:
            raise InvalidParameterException.constraint(
                member, f"must be less than or equal to {self.maximum}"
            )
        return raw

    def encode(self, value: Any) -> object:
        return value

    def validate(self, value: object, member: str) -> None:
        if type(value) is not int:
            raise InvalidParameterException.constraint(member, "must be an int")
        try:
            self.read(value, member)
        except SerializationException:  # outside the range of a long
            bound = (
                f"less than or equal to {MAX_LONG}"
                if value > 0
                else f"greater than or equal to {MIN_LONG}"
            )
            raise InvalidParameterException.constraint(member, f"must be {bound}") from None

    def for_grammar(self, grammar: RepositoryGrammar) -> Shape:
        return self


@attrs.frozen
class Boolean:
    """A ``boolean``: JSON ``true`` or ``false``."""

    def read(self, raw: object, member: str) -> object:
        if type(raw) is not bool:
            raise _not_convertible(raw, "Boolean")
        return raw

    def encode(self, value: Any) -> object:
        return value

    def validate(self, value: object, member: str) -> None:
        if type(value) is not bool:
            raise InvalidParameterException.constraint(member, "must be a bool")

    def for_grammar(self, grammar: RepositoryGrammar) -> Shape:
        return self


@attrs.frozen
class Timestamp:
    """A ``timestamp``: seconds since the epoch as a JSON number on the wire (AWS JSON
    1.1), an aware :class:`datetime.datetime` in UTC in Python."""

    def read(self, raw: object, member: str) -> object:
        if type(raw) is int or (type(raw) is float and math.isfinite(raw)):
            try:
                return datetime.datetime.fromtimestamp(raw, datetime.timezone.utc)
            except (OverflowError, OSError, ValueError):
                raise SerializationException(
                    f"{raw!r} is out of the range of a Timestamp"
                ) from None
        raise _not_convertible(raw, "Timestamp")

    def encode(self, value: Any) -> object:
        seconds: float = value.timestamp()
        return int(seconds) if seconds.is_integer() else seconds

    def validate(self, value: object, member: str) -> None:
        if not isinstance(value, datetime.datetime) or value.tzinfo is None:
            raise InvalidParameterException.constraint(member, "must be an aware datetime")

    def for_grammar(self, grammar: RepositoryGrammar) -> Shape:
        return self


#: Decodes a base64 text by the strict alphabet (no other byte, ``=`` only as the padding
#: of the last quad), or raises ValueError (binascii.Error is one). The model's own is
#: :func:`strict_a2b`; a server may give a faster one of the same rule (see ``wire.handle``).
Base64Decoder = Callable[[memoryview], bytes]

if sys.version_info >= (3, 11):

    def strict_a2b(text: str | memoryview) -> bytes:
        return binascii.a2b_base64(text, strict_mode=True)

else:  # pragma: no cover - Python 3.10 has no strict_mode
    import re

    # What strict mode accepts: whole quads of the alphabet, `=` only as the padding of
    # the last quad. A single-character class repeats without a backtracking stack (a
    # pattern of repeated groups runs out of memory on a 28 MB text).
    _BASE64_TEXT = re.compile(r"[A-Za-z0-9+/]*={0,2}")
    _BASE64_BYTES = re.compile(rb"[A-Za-z0-9+/]*={0,2}")  # a view of a request body

    def strict_a2b(text: str | memoryview) -> bytes:
        if isinstance(text, str):
            valid = _BASE64_TEXT.fullmatch(text) is not None
        else:
            valid = _BASE64_BYTES.fullmatch(text) is not None
        if len(text) % 4 or not valid:
            raise binascii.Error("not strict base64")
        return binascii.a2b_base64(text)


def _b64decode(text: str | memoryview, decoder: Callable[[Any], bytes] = strict_a2b) -> bytes:
    """The bytes of a strict base64 text, decoded by ``decoder``; else ValueError."""
    data = decoder(text)
    # Strict mode of 3.11 and 3.12 lets `=` follow a whole last quad ("YWJj=" gives
    # b"abc"; 3.13 refuses it): a strict text is exactly the quads its bytes need.
    if len(text) != base64_length(len(data)):
        raise binascii.Error("padding after the last quad")
    return data


@attrs.frozen
class DecodedBlob:
    """A blob member whose base64 text is already decoded: the text's length in
    characters, and its bytes if the text is strict base64 no longer than the shape
    allows (else None).

    The wire layer reads a part's blob straight from the request body's bytes (see
    ``_in_place``), so its text is never copied into a string, and hands it to
    :func:`read` beside the JSON object (``blob=``); a blob built in Python is judged as
    the decoded form of its own text.
    """

    data: bytes | memoryview | None = attrs.field(
        repr=lambda data: "None" if data is None else f"<{len(data)} bytes>"
    )
    text_length: int


@attrs.frozen
class Blob:
    """A blob: base64 text on the wire, at most ``maximum`` bytes once decoded."""

    maximum: int
    #: The longest base64 text that can decode to at most ``maximum`` bytes.
    max_text_length: int = attrs.field(init=False)

    @max_text_length.default
    def _max_text_length(self) -> int:
        return base64_length(self.maximum)

    def read(self, raw: object, member: str) -> object:
        if type(raw) is str:
            length = len(raw)
        elif type(raw) is DecodedBlob:
            length = raw.text_length
        else:
            raise _not_convertible(raw, "Blob")
        if length > self.max_text_length:
            # Judged from the text before any decoding, as ECR does.
            raise _longer_than(member, self.maximum)
        if isinstance(raw, DecodedBlob):
            data = raw.data
        else:
            try:
                data = _b64decode(raw)
            except ValueError:  # binascii.Error, or non-ASCII text
                data = None
        if data is None:
            raise SerializationException(f"'{member}' is not valid base64")
        if len(data) > self.maximum:
            raise _longer_than(member, self.maximum)
        return data

    def encode(self, value: Any) -> object:
        return binascii.b2a_base64(value, newline=False).decode("ascii")

    def validate(self, value: object, member: str) -> None:
        if not isinstance(value, (bytes, memoryview)):
            raise InvalidParameterException.constraint(member, "must be bytes or a memoryview")
        view = memoryview(value)
        if not (view.c_contiguous and view.format == "B"):
            # Else it could not be written (a strided view) or read back equal (a view of
            # other items than bytes): ``view.cast("B")`` or ``bytes(view)`` gives one.
            raise InvalidParameterException.constraint(
                member, "must be a contiguous memoryview of bytes"
            )
        # One byte an item, whatever its dimensions; its text is the base64 of its bytes.
        data = view.cast("B")
        self.read(DecodedBlob(data, base64_length(len(data))), member)

    def for_grammar(self, grammar: RepositoryGrammar) -> Shape:
        return self


@attrs.frozen
class List:
    """A list of ``min_items`` to ``max_items`` members of one shape, as a tuple."""

    item: Shape
    min_items: int
    max_items: int

    def read(self, raw: object, member: str) -> object:
        if type(raw) is not list:
            raise _not_convertible(raw, "List")
        try:
            self._check_count(len(raw), member)
        except InvalidParameterException:
            _judge_json_types((self.item.read, item, member) for item in raw)
            raise
        values: list[object] = []
        try:
            for item in raw:
                values.append(self.item.read(item, member))
        except InvalidParameterException:
            after = itertools.islice(raw, len(values) + 1, None)
            _judge_json_types((self.item.read, item, member) for item in after)
            raise
        return tuple(values)

    def _check_count(self, count: int, member: str) -> None:
        if count < self.min_items:
            raise InvalidParameterException.constraint(
                member, f"must have length greater than or equal to {self.min_items}"
            )
        if count > self.max_items:
            raise _longer_than(member, self.max_items)

    def encode(self, value: Any) -> object:
        return [self.item.encode(item) for item in value]

    def validate(self, value: object, member: str) -> None:
        if type(value) is not tuple:
            raise InvalidParameterException.constraint(member, "must be a tuple")
        self._check_count(len(value), member)
        for item in value:
            self.item.validate(item, member)

    def for_grammar(self, grammar: RepositoryGrammar) -> Shape:
        item = self.item.for_grammar(grammar)
        return self if item is self.item else List(item, self.min_items, self.max_items)


@attrs.frozen
class Structure:
    """A nested structure of a response (a Layer, a LayerFailure): a class of members,
    read by the repository grammar ``grammar``."""

    type_: type
    grammar: RepositoryGrammar = RepositoryGrammar.SEED

    def read(self, raw: object, member: str) -> object:
        if type(raw) is not dict:
            raise _not_convertible(raw, "Structure")
        return read(self.type_, raw, self.grammar)

    def encode(self, value: Any) -> object:
        return write(value)

    def validate(self, value: object, member: str) -> None:
        _check_instance(value, self.type_, member)  # it exists: its fields were checked

    def for_grammar(self, grammar: RepositoryGrammar) -> Shape:
        return attrs.evolve(self, grammar=grammar)


# ---------------------------------------------------------------------------------------
# Members as attrs fields


def member(wire: str, shape: Shape, *, required: bool = True) -> dict[str, object]:
    """The metadata of an attrs field that is the member ``wire`` of an API shape."""
    return {"wire": wire, "shape": shape, "required": required}


def validate_member(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """attrs validator for typed construction: the same shape, Python-side."""
    if value is None and not attribute.metadata["required"]:
        return
    if value is None:
        raise _missing(attribute.metadata["wire"])
    attribute.metadata["shape"].validate(value, attribute.metadata["wire"])


class Member(NamedTuple):
    """A member of a request or response class, as its field declares it."""

    field: str
    wire: str
    shape: Shape
    required: bool


#: Each class's members, read from the attrs metadata once.
_MEMBERS: dict[type, tuple[Member, ...]] = {}


def members(cls: type) -> tuple[Member, ...]:
    """The members of ``cls`` in field order: the API model's member order, which decides
    which violation answers first."""
    found = _MEMBERS.get(cls)
    if found is None:
        found = tuple(
            Member(
                field.name,
                field.metadata["wire"],
                field.metadata["shape"],
                field.metadata["required"],
            )
            for field in attrs.fields(cls)
        )
        _MEMBERS[cls] = found
    return found


def blob_member(cls: type) -> tuple[str, Blob] | None:
    """The wire name and shape of ``cls``'s one blob member, if it has exactly one."""
    blobs = [(m.wire, m.shape) for m in members(cls) if isinstance(m.shape, Blob)]
    return blobs[0] if len(blobs) == 1 else None


class _Step(NamedTuple):
    """One member as a reader reads it."""

    wire: str
    read: Callable[[object, str], object]


#: A class's reader: from a JSON object and the blob member's text as the wire layer
#: decoded it (or None: the object holds it), the instance.
_Reader = Callable[[dict[str, object], DecodedBlob | None], Any]

#: Each class's reader under each repository grammar, made on first use.
_READERS: dict[tuple[type, RepositoryGrammar], _Reader] = {}


def _compose(cls: type, grammar: RepositoryGrammar) -> _Reader:
    """The reader of ``cls``: each member's value, its shape's ``read``, its field set, in
    member order; on a refused constraint, the JSON types of the members after it.

    Straight-line code, made once per class and grammar (as attrs makes ``__init__``),
    which costs a sixth less than a loop over the members (docs/results.md, table 1 of
    2026-12-07). No rule is written here: the text is made of member indices alone, and
    calls each member's ``read``. An identifier is first looked up among the values its
    shape's ``read`` has kept, the same answer without the call (as on every part of an
    upload).
    """
    shaped = [(m, m.shape.for_grammar(grammar)) for m in members(cls)]
    steps = tuple(_Step(m.wire, shape.read) for m, shape in shaped)
    blob = blob_member(cls)
    namespace: dict[str, object] = {
        "_new": _new,
        "_cls": cls,
        "_str": str,
        "_Refused": InvalidParameterException,
        "_missing": _missing,
        "_judge_after": _judge_after,
        "_steps": steps,
        "_blob_wire": None if blob is None else blob[0],
    }
    lines = ["def reader(obj, blob):"]
    if blob is None:
        namespace |= {
            "_UsageError": UsageError,
            "_no_blob": f"{cls.__name__} has no blob member to read a blob into",
        }
        lines += ["    if blob is not None:", "        raise _UsageError(_no_blob)"]
    lines += ["    instance = _new(_cls)", "    try:"]
    for index, (m, shape) in enumerate(shaped):
        namespace |= {
            f"_wire{index}": m.wire,
            f"_read{index}": shape.read,
            f"_set{index}": vars(cls)[m.field].__set__,  # the slot's own: the class is frozen
        }
        step = [f"at = {index}", f"raw = obj.get(_wire{index})"]
        if blob is not None and m.wire == blob[0]:
            step[-1] += " if blob is None else blob"
        value = f"_read{index}(raw, _wire{index})"
        if m.required:
            read_it = ["if raw is None:", f"    raise _missing(_wire{index})", f"value = {value}"]
        else:
            read_it = [f"value = None if raw is None else {value}"]
        if isinstance(shape, Identifier):
            namespace[f"_kept{index}"] = shape._kept
            step += [f"value = _kept{index}.get(raw) if type(raw) is _str else None"]
            step += ["if value is None:", *(f"    {line}" for line in read_it)]
        else:
            step += read_it
        step.append(f"_set{index}(instance, value)")
        lines += [f"        {line}" for line in step]
    lines += [
        "    except _Refused:",
        "        _judge_after(_steps[at + 1 :], obj, _blob_wire, blob)",
        "        raise",
        "    return instance",
    ]
    text = "\n".join(lines)
    filename = f"<ecr_upload_model reader of {cls.__qualname__}, {grammar.name} grammar>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)  # tracebacks
    exec(compile(text, filename, "exec"), namespace)
    reader: _Reader = namespace["reader"]  # type: ignore[assignment]
    _READERS[(cls, grammar)] = reader
    return reader


def _judge_after(
    later: tuple[_Step, ...], obj: dict[str, object], blob_wire: str | None, blob: object
) -> None:
    """A wrong JSON type in a member after the refused one answers first."""
    _judge_json_types(
        (step.read, raw, step.wire)
        for step in later
        if (raw := blob if blob is not None and step.wire == blob_wire else obj.get(step.wire))
        is not None
    )


_new = object.__new__


def read(
    cls: type[T],
    obj: object,
    grammar: RepositoryGrammar = RepositoryGrammar.SEED,
    *,
    blob: DecodedBlob | None = None,
) -> T:
    """Reads a JSON object into a ``cls``, raising the error ECR would, in ECR's order:
    every JSON type in the object (SerializationException) before any constraint
    (InvalidParameterException), the constraints in member order.

    A member given as JSON ``null`` counts as absent. Members the shape does not name
    are ignored, as AWS JSON services ignore them. ``blob`` is the blob member's text as
    the wire layer read it from the body (``obj`` then need not hold it).
    """
    reader = _READERS.get((cls, grammar)) or _compose(cls, grammar)
    if type(obj) is not dict:
        raise _not_convertible(obj, "Structure")
    instance: T = reader(obj, blob)
    return instance


def write(value: object) -> dict[str, object]:
    """The JSON object of a request or response; absent members are left out."""
    wire: dict[str, object] = {}
    for m in members(type(value)):
        field_value = getattr(value, m.field)
        if field_value is not None:
            wire[m.wire] = m.shape.encode(field_value)
    return wire


def enum_text(cls: type[enum.Enum]) -> Text:
    """The shape of a string enum of the API model (LayerAvailability, ...)."""
    by_value: Mapping[str, enum.Enum] = {item.value: item for item in cls}

    def build(text: str, member: str) -> enum.Enum:
        try:
            return by_value[text]
        except KeyError:
            allowed = ", ".join(by_value)
            raise InvalidParameterException.constraint(
                member, f"must satisfy enum value set: [{allowed}]"
            ) from None

    return Text(build, cls, lambda item: str(item.value))
