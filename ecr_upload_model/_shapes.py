"""The API model's member shapes: how one member is read from, checked against and
written to a JSON object. Requests and responses declare their members as attrs fields
carrying a :class:`Shape`; :func:`read` and :func:`write` walk those fields, so every
operation is read by this one mechanism.

Reading has two passes, in the order ECR answers (reference sheet, section 7): first
the JSON type of every member (SerializationException), then the constraints of every
member in the shape's member order (InvalidParameterException).

A server reads every request, so :func:`read` runs a reader generated once per class
from the same shapes (as attrs generates ``__init__``): straight-line code that builds
the value of an object every member of which is valid, and hands any other object to
the member-by-member reader, which finds the error ECR would answer.
"""

from __future__ import annotations

import binascii
import datetime
import enum
import itertools
import linecache
import math
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, Generic, NamedTuple, Protocol, TypeVar

import attrs

from .errors import EcrError, InvalidParameterException, SerializationException
from .identifiers import IdentifierT, RepositoryGrammar, TextRule
from .limits import MAX_LONG

MIN_LONG: Final = -(2**63)

#: How many identifiers of one member a generated reader keeps (equal texts give one
#: shared value): enough for a busy server's uploads. The package's own choice, not ECR's.
MAX_KEPT_IDENTIFIERS: Final = 1024
#: Only identifiers this short are kept: a repository name's maximum, which holds a sha512
#: digest (135 characters); so what is kept is at most 256 KiB of text per member.
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


class Shape(Protocol):
    """One member's shape; ``member`` is its wire name, for messages."""

    def decode(self, raw: object, member: str) -> object:
        """The member's JSON value in its Python form, or SerializationException."""

    def check(self, decoded: Any, member: str, grammar: RepositoryGrammar) -> object:
        """The typed value of a decoded member, or InvalidParameterException."""

    def encode(self, value: Any) -> object:
        """The JSON value of a typed member."""

    def validate(self, value: object, member: str) -> None:
        """Refuses a typed value built in Python that breaks the shape."""

    def accept(self, raw: str, value: str, member: str, source: Source) -> list[str]:
        """Source lines of a generated reader: they set the variable ``value`` to the
        typed value of the JSON value in the variable ``raw`` (never ``None``) when the
        member is valid, and run ``source.refuse`` otherwise."""


@attrs.define
class Source:
    """What a generated reader's lines refer to: the constants they name, the grammar
    repository names are read by, and the statement that refuses the fast path."""

    grammar: RepositoryGrammar
    constants: dict[str, object] = attrs.Factory(dict)
    #: Hands the whole object to the member-by-member reader, which answers its error.
    refuse: str = "return _read_member_by_member(_cls, obj, _grammar)"
    _numbers: Iterator[int] = attrs.Factory(itertools.count)

    def name(self, constant: object) -> str:
        """A name the generated code can use for ``constant``."""
        name = self.fresh("c")
        self.constants[name] = constant
        return name

    def fresh(self, stem: str) -> str:
        """A variable name no other line uses."""
        return f"_{stem}{next(self._numbers)}"


def _indent(lines: list[str], spaces: int = 4) -> list[str]:
    return [" " * spaces + line for line in lines]


def _accept_by_reading(
    shape: Shape, raw: str, value: str, member: str, source: Source
) -> list[str]:
    """The lines of a shape with no faster form: its own decode and check."""
    decode, check = source.name(shape.decode), source.name(shape.check)
    return [
        "try:",
        f"    {value} = {check}({decode}({raw}, {member!r}), {member!r}, _grammar)",
        f"except {source.name(EcrError)}:",
        f"    {source.refuse}",
    ]


def _slot_setter(cls: type, field: str) -> Callable[[object, object], None]:
    """Sets a field of a frozen slotted class (as ``object.__setattr__``, but faster)."""
    setter: Callable[[object, object], None] = vars(cls)[field].__set__
    return setter


@attrs.frozen
class Text:
    """A string member turned into a value by ``build`` (which does the checking)."""

    build: Callable[[str, str, RepositoryGrammar], object]
    type_: type
    #: The text of a value; ``str`` gives an identifier's.
    text: Callable[[Any], str] = str

    def decode(self, raw: object, member: str) -> object:
        if type(raw) is not str:
            raise _not_convertible(raw, "String")
        return raw

    def check(self, decoded: str, member: str, grammar: RepositoryGrammar) -> object:
        return self.build(decoded, member, grammar)

    def encode(self, value: Any) -> object:
        return self.text(value)

    def validate(self, value: object, member: str) -> None:
        if not isinstance(value, self.type_):
            raise InvalidParameterException.constraint(member, f"must be a {self.type_.__name__}")
        if self.type_ is str and isinstance(value, str):
            # A plain text is its own value: ``build`` holds its rule (a length, say).
            self.build(value, member, RepositoryGrammar.SEED)

    def accept(self, raw: str, value: str, member: str, source: Source) -> list[str]:
        return _accept_by_reading(self, raw, value, member, source)


@attrs.frozen
class Identifier(Generic[IdentifierT]):
    """A string member that is an identifier of ``type_``, judged by ``rule`` (``None``:
    the repository grammar the reader is given)."""

    type_: type[IdentifierT]
    rule: TextRule | None

    def decode(self, raw: object, member: str) -> object:
        if type(raw) is not str:
            raise _not_convertible(raw, "String")
        return raw

    def check(self, decoded: str, member: str, grammar: RepositoryGrammar) -> object:
        rule = grammar.value if self.rule is None else self.rule
        return rule.make(self.type_, decoded, member)

    def encode(self, value: Any) -> object:
        return str(value)

    def validate(self, value: object, member: str) -> None:
        if not isinstance(value, self.type_):
            raise InvalidParameterException.constraint(member, f"must be a {self.type_.__name__}")

    def accept(self, raw: str, value: str, member: str, source: Source) -> list[str]:
        # What ``check`` does, inline: the rule's lengths, its pattern, the value. Short
        # values are kept (a server reads one registry id, name and upload id in part
        # after part), as many as MAX_KEPT_IDENTIFIERS, then forgotten all at once; only
        # once the whole request is read (``_keep``): a refused one leaves nothing.
        rule = source.grammar.value if self.rule is None else self.rule
        low = "" if rule.min_length is None else f"{rule.min_length} <= "
        high = "" if rule.max_length is None else f" <= {rule.max_length}"
        length = f" and {low}len({raw}){high}" if low or high else ""
        kept: dict[str, IdentifierT] = {}
        kept_name = source.name(kept)
        return [
            f"if type({raw}) is str and ({value} := {kept_name}.get({raw})) is not None:",
            "    pass",
            f"elif type({raw}) is str{length} and {source.name(rule.linear.fullmatch)}({raw}):",
            f"    {value} = _new({source.name(self.type_)})",
            f"    {source.name(_slot_setter(self.type_, 'value'))}({value}, {raw})",
            f"    if len({raw}) <= {MAX_KEPT_IDENTIFIER_LENGTH}:",
            f"        _fresh.append(({kept_name}, {raw}, {value}))",
            "else:",
            f"    {source.refuse}",
        ]


@attrs.frozen
class Long:
    """A ``long``: a JSON integer in the signed 64-bit range, with an optional minimum and
    maximum (an ``integer`` of the API model with its bounds is read the same way)."""

    minimum: int | None = 0
    maximum: int | None = None

    def decode(self, raw: object, member: str) -> object:
        if type(raw) is not int:
            # A bool is an int in Python but `true` in JSON; a float may be NaN, an
            # infinity or a fraction: all are refused as the wrong JSON type.
            if type(raw) is float and not math.isfinite(raw):
                raise SerializationException(f"{raw!r} can not be converted to a Long")
            raise _not_convertible(raw, "Long")
        if not MIN_LONG <= raw <= MAX_LONG:
            raise SerializationException("NUMBER_VALUE is out of the range of a Long")
        return raw

    def check(self, decoded: int, member: str, grammar: RepositoryGrammar) -> object:
        if self.minimum is not None and decoded < self.minimum:
            raise InvalidParameterException.constraint(
                member, f"must be greater than or equal to {self.minimum}"
            )
        if self.maximum is not None and decoded > self.maximum:
            raise InvalidParameterException.constraint(
                member, f"must be less than or equal to {self.maximum}"
            )
        return decoded

    def encode(self, value: Any) -> object:
        return value

    def validate(self, value: object, member: str) -> None:
        if type(value) is not int:
            raise InvalidParameterException.constraint(member, "must be an int")
        if not MIN_LONG <= value <= MAX_LONG:
            raise InvalidParameterException.constraint(
                member, f"must be less than or equal to {MAX_LONG}"
            )
        self.check(value, member, RepositoryGrammar.SEED)

    def accept(self, raw: str, value: str, member: str, source: Source) -> list[str]:
        # ``type() is int``: a bool is an int in Python but `true` in JSON.
        low = MIN_LONG if self.minimum is None else max(MIN_LONG, self.minimum)
        high = MAX_LONG if self.maximum is None else min(MAX_LONG, self.maximum)
        return [
            f"if type({raw}) is int and {low} <= {raw} <= {high}:",
            f"    {value} = {raw}",
            "else:",
            f"    {source.refuse}",
        ]


@attrs.frozen
class Boolean:
    """A ``boolean``: JSON ``true`` or ``false``."""

    def decode(self, raw: object, member: str) -> object:
        if type(raw) is not bool:
            raise _not_convertible(raw, "Boolean")
        return raw

    def check(self, decoded: bool, member: str, grammar: RepositoryGrammar) -> object:
        return decoded

    def encode(self, value: Any) -> object:
        return value

    def validate(self, value: object, member: str) -> None:
        if type(value) is not bool:
            raise InvalidParameterException.constraint(member, "must be a bool")

    def accept(self, raw: str, value: str, member: str, source: Source) -> list[str]:
        return _accept_by_reading(self, raw, value, member, source)


@attrs.frozen
class Timestamp:
    """A ``timestamp``: seconds since the epoch as a JSON number on the wire (AWS JSON
    1.1), an aware :class:`datetime.datetime` in UTC in Python."""

    def decode(self, raw: object, member: str) -> object:
        if type(raw) is int or (type(raw) is float and math.isfinite(raw)):
            try:
                return datetime.datetime.fromtimestamp(raw, datetime.timezone.utc)
            except (OverflowError, OSError, ValueError):
                raise SerializationException(
                    f"{raw!r} is out of the range of a Timestamp"
                ) from None
        raise _not_convertible(raw, "Timestamp")

    def check(self, decoded: datetime.datetime, member: str, grammar: RepositoryGrammar) -> object:
        return decoded

    def encode(self, value: Any) -> object:
        seconds: float = value.timestamp()
        return int(seconds) if seconds.is_integer() else seconds

    def validate(self, value: object, member: str) -> None:
        if not isinstance(value, datetime.datetime) or value.tzinfo is None:
            raise InvalidParameterException.constraint(member, "must be an aware datetime")

    def accept(self, raw: str, value: str, member: str, source: Source) -> list[str]:
        return _accept_by_reading(self, raw, value, member, source)


class _Oversized(enum.Enum):
    """Marks a blob whose base64 text alone proves it is over the maximum."""

    BLOB = enum.auto()


if sys.version_info >= (3, 11):

    def _b64decode(text: str | memoryview) -> bytes:
        data = binascii.a2b_base64(text, strict_mode=True)
        # Strict mode of 3.11 and 3.12 lets `=` follow a whole last quad ("YWJj=" gives
        # b"abc"; 3.13 refuses it): a strict text is exactly the quads its bytes need.
        if len(text) != 4 * -(-len(data) // 3):
            raise binascii.Error("padding after the last quad")
        return data

else:  # pragma: no cover - Python 3.10 has no strict_mode
    import re

    # What strict mode accepts: whole quads of the alphabet, `=` only as the padding of
    # the last quad. A single-character class repeats without a backtracking stack (a
    # pattern of repeated groups runs out of memory on a 28 MB text).
    _BASE64_TEXT = re.compile(r"[A-Za-z0-9+/]*={0,2}")
    _BASE64_BYTES = re.compile(rb"[A-Za-z0-9+/]*={0,2}")  # a view of a request body

    def _b64decode(text: str | memoryview) -> bytes:
        if isinstance(text, str):
            valid = _BASE64_TEXT.fullmatch(text) is not None
        else:
            valid = _BASE64_BYTES.fullmatch(text) is not None
        if len(text) % 4 or not valid:
            raise binascii.Error("not strict base64")
        return binascii.a2b_base64(text)


@attrs.frozen
class DecodedInPlace:
    """A blob member whose string the wire layer read straight from the request body's
    bytes (see ``_in_place``), so its text was never copied into a string.

    ``data`` is what :meth:`Blob.decode` makes of a text of ``text_length`` characters
    that is strict base64 and no longer than the shape allows; ``None`` for another text.
    """

    data: bytes | None = attrs.field(
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
        return 4 * -(-self.maximum // 3)

    def decode(self, raw: object, member: str) -> object:
        if isinstance(raw, DecodedInPlace):
            text, length, data = None, raw.text_length, raw.data
        elif type(raw) is str:
            text, length, data = raw, len(raw), None
        else:
            raise _not_convertible(raw, "Blob")
        if length > self.max_text_length:
            # Judged from the text before any decoding (reference sheet, section 7).
            return _Oversized.BLOB
        try:
            if text is not None:
                return _b64decode(text)
            if data is None:
                raise ValueError("not strict base64")
            return data
        except ValueError:  # binascii.Error, or non-ASCII text
            raise SerializationException(f"'{member}' is not valid base64") from None

    def check(self, decoded: bytes | _Oversized, member: str, grammar: RepositoryGrammar) -> object:
        if decoded is _Oversized.BLOB or len(decoded) > self.maximum:
            raise InvalidParameterException.constraint(
                member, f"must have length less than or equal to {self.maximum}"
            )
        return decoded

    def encode(self, value: Any) -> object:
        return binascii.b2a_base64(value, newline=False).decode("ascii")

    def validate(self, value: object, member: str) -> None:
        if not isinstance(value, (bytes, memoryview)):
            raise InvalidParameterException.constraint(member, "must be bytes or a memoryview")
        if isinstance(value, memoryview) and not (value.c_contiguous and value.format == "B"):
            # Else it could not be written (a strided view) or read back equal (a view of
            # other items than bytes): ``view.cast("B")`` or ``bytes(view)`` gives one.
            raise InvalidParameterException.constraint(
                member, "must be a contiguous memoryview of bytes"
            )
        if memoryview(value).nbytes > self.maximum:
            raise InvalidParameterException.constraint(
                member, f"must have length less than or equal to {self.maximum}"
            )

    def accept(self, raw: str, value: str, member: str, source: Source) -> list[str]:
        return [
            f"if type({raw}) is str and len({raw}) <= {self.max_text_length}:",
            "    try:",
            f"        {value} = {source.name(_b64decode)}({raw})",
            "    except ValueError:",
            f"        {source.refuse}",
            f"elif type({raw}) is {source.name(DecodedInPlace)} and {raw}.data is not None:",
            f"    {value} = {raw}.data",
            "else:",
            f"    {source.refuse}",
            f"if len({value}) > {self.maximum}:",
            f"    {source.refuse}",
        ]


@attrs.frozen
class List:
    """A list of ``min_items`` to ``max_items`` members of one shape, as a tuple."""

    item: Shape
    min_items: int
    max_items: int

    def decode(self, raw: object, member: str) -> object:
        if type(raw) is not list:
            raise _not_convertible(raw, "List")
        return [self.item.decode(item, member) for item in raw]

    def check(self, decoded: list[object], member: str, grammar: RepositoryGrammar) -> object:
        self._check_count(len(decoded), member)
        return tuple(self.item.check(item, member, grammar) for item in decoded)

    def _check_count(self, count: int, member: str) -> None:
        if count < self.min_items:
            raise InvalidParameterException.constraint(
                member, f"must have length greater than or equal to {self.min_items}"
            )
        if count > self.max_items:
            raise InvalidParameterException.constraint(
                member, f"must have length less than or equal to {self.max_items}"
            )

    def encode(self, value: Any) -> object:
        return [self.item.encode(item) for item in value]

    def validate(self, value: object, member: str) -> None:
        if type(value) is not tuple:
            raise InvalidParameterException.constraint(member, "must be a tuple")
        self._check_count(len(value), member)
        for item in value:
            self.item.validate(item, member)

    def accept(self, raw: str, value: str, member: str, source: Source) -> list[str]:
        item, item_value = source.fresh("item"), source.fresh("value")
        return [
            f"if type({raw}) is list and {self.min_items} <= len({raw}) <= {self.max_items}:",
            f"    {value} = []",
            f"    for {item} in {raw}:",
            *_indent(self.item.accept(item, item_value, member, source), 8),
            f"        {value}.append({item_value})",
            f"    {value} = tuple({value})",
            "else:",
            f"    {source.refuse}",
        ]


@attrs.frozen
class Structure:
    """A nested structure of a response (a Layer, a LayerFailure): a class with ``read``."""

    type_: type

    def decode(self, raw: object, member: str) -> object:
        if type(raw) is not dict:
            raise _not_convertible(raw, "Structure")
        return raw

    def check(self, decoded: dict[str, object], member: str, grammar: RepositoryGrammar) -> object:
        return read(self.type_, decoded, grammar)

    def encode(self, value: Any) -> object:
        return write(value)

    def accept(self, raw: str, value: str, member: str, source: Source) -> list[str]:
        return _accept_by_reading(self, raw, value, member, source)

    def validate(self, value: object, member: str) -> None:
        if not isinstance(value, self.type_):
            raise InvalidParameterException.constraint(member, f"must be a {self.type_.__name__}")


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
        raise InvalidParameterException.constraint(attribute.metadata["wire"], "must not be null")
    attribute.metadata["shape"].validate(value, attribute.metadata["wire"])


class _Member(NamedTuple):
    field: str
    wire: str
    shape: Shape
    required: bool


#: Each class's members in field order, read from the attrs metadata once.
_MEMBERS: dict[type, tuple[_Member, ...]] = {}


def _members(cls: type) -> tuple[_Member, ...]:
    members = _MEMBERS.get(cls)
    if members is None:
        members = tuple(
            _Member(
                field.name,
                field.metadata["wire"],
                field.metadata["shape"],
                field.metadata["required"],
            )
            for field in attrs.fields(cls)
        )
        _MEMBERS[cls] = members
    return members


_new = object.__new__
_set = object.__setattr__


def read(cls: type[T], obj: object, grammar: RepositoryGrammar = RepositoryGrammar.SEED) -> T:
    """Reads a JSON object into a ``cls``, raising the error ECR would, in ECR's order.

    A member given as JSON ``null`` counts as absent. Members the shape does not name
    are ignored, as AWS JSON services ignore them.
    """
    reader: Callable[[object], T] = _READERS.get((cls, id(grammar))) or _generate_reader(
        cls, grammar
    )
    return reader(obj)


#: The generated reader of each class and repository grammar, by the grammar's id (an
#: Enum member hashes in Python code, which would cost a tenth of a request's read).
_READERS: dict[tuple[type, int], Callable[[object], Any]] = {}


def _generate_reader(cls: type[T], grammar: RepositoryGrammar) -> Callable[[object], T]:
    """The reader of ``cls``: each member's ``accept`` lines in member order, then the
    instance. It answers exactly as :func:`_read_member_by_member` (a property test
    holds them to it), which it calls for every object it does not accept."""
    source = Source(grammar)
    lines = ["def reader(obj):", "    if type(obj) is not dict:", f"        {source.refuse}"]
    lines.append("    get = obj.get")
    lines.append("    _fresh = []")
    members = _members(cls)
    for index, m in enumerate(members):
        raw, value = f"raw{index}", f"value{index}"
        accept = m.shape.accept(raw, value, m.wire, source)
        lines.append(f"    {raw} = get({m.wire!r})")
        if m.required:  # a missing one is not of the shape's JSON type: refused
            lines += _indent(accept)
        else:
            lines += [f"    if {raw} is None:", f"        {value} = None", "    else:"]
            lines += _indent(accept, 8)
    lines.append("    instance = _new(_cls)")
    for index, m in enumerate(members):
        lines.append(f"    {source.name(_slot_setter(cls, m.field))}(instance, value{index})")
    lines.append("    if _fresh:")
    lines.append("        _keep(_fresh)")
    lines.append("    return instance")
    namespace: dict[str, Any] = {
        **source.constants,
        "_cls": cls,
        "_grammar": grammar,
        "_new": _new,
        "_read_member_by_member": _read_member_by_member,
        "_keep": _keep,
    }
    text = "\n".join(lines)
    filename = f"<ecr_upload_model reader of {cls.__qualname__}, {grammar.name} grammar>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)  # tracebacks
    # The text is made of the shapes alone: no byte of any input is ever part of it.
    exec(compile(text, filename, "exec"), namespace)
    reader: Callable[[object], T] = namespace["reader"]
    _READERS[(cls, id(grammar))] = reader
    return reader


def _keep(fresh: list[tuple[dict[str, object], str, object]]) -> None:
    """Keeps the identifiers a reader made for an accepted request."""
    for kept, text, value in fresh:
        if len(kept) >= MAX_KEPT_IDENTIFIERS:
            kept.clear()
        kept[text] = value


def _read_member_by_member(cls: type[T], obj: object, grammar: RepositoryGrammar) -> T:
    """:func:`read`, one member at a time: the reader of an object with an error."""
    if type(obj) is not dict:
        raise SerializationException(f"{_token(obj)} can not be converted to a Structure")
    members = _members(cls)
    get = obj.get
    instance = _new(cls)
    # One pass reads and checks each member in turn; when one is refused, the members
    # after it are still decoded, so that a wrong JSON type anywhere answers first (the
    # order of two passes, without the second loop).
    for m in members:
        raw = get(m.wire)
        try:
            if raw is not None:
                value = m.shape.check(m.shape.decode(raw, m.wire), m.wire, grammar)
            elif m.required:
                raise InvalidParameterException.constraint(m.wire, "must not be null")
            else:
                value = None
        except EcrError:
            if raw is not None:
                m.shape.decode(raw, m.wire)  # its own wrong JSON type answers first
            for later in members[members.index(m) + 1 :]:
                if (raw := get(later.wire)) is not None:
                    later.shape.decode(raw, later.wire)
            raise
        # Every member is checked here: the validators would only repeat the work.
        _set(instance, m.field, value)
    return instance


def blob_member(cls: type) -> tuple[str, Blob] | None:
    """The wire name and shape of ``cls``'s one blob member, if it has exactly one."""
    blobs = [
        (field.metadata["wire"], field.metadata["shape"])
        for field in attrs.fields(cls)
        if isinstance(field.metadata["shape"], Blob)
    ]
    return blobs[0] if len(blobs) == 1 else None


def write(value: object) -> dict[str, object]:
    """The JSON object of a request or response; absent members are left out."""
    wire: dict[str, object] = {}
    for m in _members(type(value)):
        field_value = getattr(value, m.field)
        if field_value is not None:
            wire[m.wire] = m.shape.encode(field_value)
    return wire


def enum_text(cls: type[enum.Enum]) -> Text:
    """The shape of a string enum of the API model (LayerAvailability, ...)."""
    by_value: Mapping[str, enum.Enum] = {item.value: item for item in cls}

    def build(text: str, member: str, grammar: RepositoryGrammar) -> enum.Enum:
        try:
            return by_value[text]
        except KeyError:
            allowed = ", ".join(by_value)
            raise InvalidParameterException.constraint(
                member, f"must satisfy enum value set: [{allowed}]"
            ) from None

    return Text(build, cls, lambda item: str(item.value))
