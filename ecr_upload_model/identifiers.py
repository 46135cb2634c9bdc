"""The identifiers of a layer upload: RegistryId, RepositoryName, UploadId, LayerDigest.

A value that exists is valid: the only way to one is through its validation, which
raises :class:`~ecr_upload_model.errors.InvalidParameterException` in ECR's message
form. Lengths are checked before patterns; every pattern is matched whole, and written
unambiguously with possessive quantifiers so that matching takes linear time (the
published patterns, taken literally, backtrack quadratically under ``regex``).

>>> str(RepositoryName("team/app"))
'team/app'
>>> str(RepositoryName("a__b", grammar=RepositoryGrammar.OCI))
'a__b'
"""

from __future__ import annotations

import enum
import re
import sys
from typing import TypeVar

import attrs

from .errors import InvalidParameterException
from .limits import MAX_REPOSITORY_NAME_LENGTH, MIN_REPOSITORY_NAME_LENGTH

# The value types, each built by calling its class. The rules (TextRule and its
# instances) are the package's: its readers and strategies judge and make texts by them.
__all__ = ["LayerDigest", "RegistryId", "RepositoryGrammar", "RepositoryName", "UploadId"]

IdentifierT = TypeVar("IdentifierT", "RegistryId", "RepositoryName", "UploadId", "LayerDigest")


@attrs.frozen
class TextRule:
    """A string shape of the API model: its length bounds and its pattern.

    ``published`` is the pattern as the API model writes it (quoted in messages);
    ``linear`` matches the same language in linear time.
    """

    member: str
    published: str
    linear: re.Pattern[str]
    min_length: int | None = None
    max_length: int | None = None

    def check(self, value: object, member: str | None = None) -> str:
        """``value`` if it satisfies the rule, else InvalidParameterException."""
        member = self.member if member is None else member
        if type(value) is not str:
            raise InvalidParameterException.constraint(member, "must be a string")
        if self.min_length is not None and len(value) < self.min_length:
            raise InvalidParameterException.constraint(
                member, f"must have length greater than or equal to {self.min_length}"
            )
        if self.max_length is not None and len(value) > self.max_length:
            raise InvalidParameterException.constraint(
                member, f"must have length less than or equal to {self.max_length}"
            )
        if self.linear.fullmatch(value) is None:
            raise InvalidParameterException.constraint(
                member, f"must satisfy regular expression '{self.published}'"
            )
        return value

    def make(self, cls: type[IdentifierT], value: object, member: str | None = None) -> IdentifierT:
        """The identifier ``cls`` of ``value`` if it satisfies the rule: what ``cls(value)``
        makes, without the class call (the wire path reads many)."""
        identifier = object.__new__(cls)
        object.__setattr__(identifier, "value", self.check(value, member))
        return identifier


if sys.version_info >= (3, 11):

    def _linear(pattern: str) -> re.Pattern[str]:
        # `re` has possessive quantifiers since 3.11, and matches these patterns two to
        # eight times faster than `regex`. ASCII only, as the API model's classes are.
        return re.compile(pattern, re.ASCII)

else:  # pragma: no cover - Python 3.10's `re` has no possessive quantifiers
    import regex

    def _linear(pattern: str) -> re.Pattern[str]:
        # VERSION0 keeps `re` semantics; the pattern object has `re`'s interface.
        compiled: re.Pattern[str] = regex.compile(pattern, regex.VERSION0 | regex.ASCII)
        return compiled


# RegistryId: an AWS account id (API model shape RegistryId). `[0-9]`, never `\d`,
# which would match any Unicode digit.
REGISTRY_ID = TextRule("registryId", "[0-9]{12}", _linear("[0-9]{12}"))

# UploadId (API model shape UploadId): a UUID in any letter case.
UPLOAD_ID = TextRule(
    "uploadId",
    "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    _linear("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"),
)

# LayerDigest (API model shape LayerDigest): algorithm ':' hex. In `[a-zA-Z0-9-_+.]`
# the dash after 9 is a literal dash; `\-` says so in the linear form.
LAYER_DIGEST = TextRule(
    "layerDigest",
    "[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+",
    _linear(r"[a-zA-Z0-9\-_+.]++:[a-fA-F0-9]++"),
)

# Both grammars are runs of [a-z0-9] joined by separators (a component's, or the `/`
# between components): `(C/)*C` with `C = A(sA)*` is the language `A((s|/)A)*`. Written
# so, every run ends where a separator begins, and possessive runs never backtrack.
# The seed's separators are `.`, `_`, `-`; botocore 1.44's (OCI distribution's name
# grammar) are `.`, `_`, `__` or dashes.
_NAME_SEED = r"[a-z0-9]++(?:[._/-][a-z0-9]++)*+"
_NAME_OCI = r"[a-z0-9]++(?:(?:[./]|__?+|-++)[a-z0-9]++)*+"


class RepositoryGrammar(enum.Enum):
    """The two published grammars of RepositoryName (docs/ecr-layer-upload.md, section 3)."""

    # Each member equals only itself: hashed by identity in C rather than by its name in
    # Python (Enum's own), as every read looks its reader up by grammar.
    __hash__ = object.__hash__

    #: The seed page and the Smithy model of 2025; the default.
    SEED = TextRule(
        "repositoryName",
        "(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*",
        _linear(_NAME_SEED),
        MIN_REPOSITORY_NAME_LENGTH,
        MAX_REPOSITORY_NAME_LENGTH,
    )
    #: botocore 1.44 (late 2026), the OCI name grammar: also `a__b` and `a--b`.
    OCI = TextRule(
        "repositoryName",
        r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*",
        _linear(_NAME_OCI),
        MIN_REPOSITORY_NAME_LENGTH,
        MAX_REPOSITORY_NAME_LENGTH,
    )


def _set_value(instance: object, value: str) -> None:
    object.__setattr__(instance, "value", value)


@attrs.frozen(init=False)
class RegistryId:
    """The 12-digit AWS account id that names a registry."""

    value: str

    def __init__(self, value: str) -> None:
        _set_value(self, REGISTRY_ID.check(value))

    def __str__(self) -> str:
        return self.value


@attrs.frozen(init=False)
class RepositoryName:
    """A repository's name, by the seed's grammar unless another is asked for."""

    value: str

    def __init__(self, value: str, *, grammar: RepositoryGrammar = RepositoryGrammar.SEED) -> None:
        _set_value(self, grammar.value.check(value))

    def __str__(self) -> str:
        return self.value


@attrs.frozen(init=False)
class UploadId:
    """The id InitiateLayerUpload gives an upload: a UUID."""

    value: str

    def __init__(self, value: str) -> None:
        _set_value(self, UPLOAD_ID.check(value))

    def __str__(self) -> str:
        return self.value


@attrs.frozen(init=False)
class LayerDigest:
    """A layer's content digest, ``algorithm:hex`` (e.g. ``sha256:...``)."""

    value: str

    def __init__(self, value: str, *, member: str | None = None) -> None:
        _set_value(self, LAYER_DIGEST.check(value, member))

    def __str__(self) -> str:
        return self.value

    @property
    def algorithm(self) -> str:
        return self.value.partition(":")[0]

    @property
    def hex(self) -> str:
        return self.value.partition(":")[2]

    @classmethod
    def sha256(cls, hexdigest: str) -> LayerDigest:
        """The digest named by a sha256 ``hexdigest()``."""
        return cls(f"sha256:{hexdigest}")

    def matches(self, other: LayerDigest) -> bool:
        """Same algorithm and the same number: hex letter case does not matter."""
        return self.algorithm == other.algorithm and self.hex.lower() == other.hex.lower()
