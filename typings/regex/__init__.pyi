# Minimal typed subset of the third-party `regex` module (mrab-regex), which ships no
# type information. Only what this project uses is declared; extend it as needed.
# Signatures follow typeshed's `types-regex` stubs (stubs/regex/regex/_main.pyi and
# _regex_core.pyi), trimmed; checked with `python -m mypy.stubtest regex
# --mypy-config-file pyproject.toml --ignore-missing-stub`.

import enum
from typing import Any, AnyStr, Generic, Literal, final, overload

__version__: str

class error(Exception):
    def __init__(
        self, message: str, pattern: str | bytes | None = None, pos: int | None = None
    ) -> None: ...
    msg: str
    pattern: str | bytes | None
    pos: int | None

class RegexFlag(enum.IntFlag):
    A = 0x80
    ASCII = A
    V0 = 0x2000
    VERSION0 = V0
    V1 = 0x100
    VERSION1 = V1
    X = 0x40
    VERBOSE = X

A = RegexFlag.A
ASCII = RegexFlag.ASCII
V0 = RegexFlag.V0
VERSION0 = RegexFlag.VERSION0
V1 = RegexFlag.V1
VERSION1 = RegexFlag.VERSION1
X = RegexFlag.X
VERBOSE = RegexFlag.VERBOSE

def compile(
    pattern: AnyStr | Pattern[AnyStr],
    flags: int = 0,
    ignore_unused: bool = False,
    cache_pattern: bool | None = None,
    **kwargs: Any,
) -> Pattern[AnyStr]: ...
def escape(pattern: AnyStr, special_only: bool = True, literal_spaces: bool = False) -> AnyStr: ...

@final
class Pattern(Generic[AnyStr]):
    @property
    def pattern(self) -> AnyStr: ...
    @property
    def flags(self) -> int: ...
    @property
    def groups(self) -> int: ...
    def fullmatch(
        self, string: AnyStr, pos: int | None = None, endpos: int | None = None
    ) -> Match[AnyStr] | None: ...
    def match(
        self, string: AnyStr, pos: int | None = None, endpos: int | None = None
    ) -> Match[AnyStr] | None: ...
    def search(
        self, string: AnyStr, pos: int | None = None, endpos: int | None = None
    ) -> Match[AnyStr] | None: ...

@final
class Match(Generic[AnyStr]):
    @property
    def string(self) -> AnyStr: ...
    @property
    def re(self) -> Pattern[AnyStr]: ...
    # A group that did not take part in the match is None; like typeshed, the result
    # of group(n) is `AnyStr | Any` so callers are not forced to check group 0 twice.
    @overload
    def group(self, group: Literal[0] = 0, /) -> AnyStr: ...
    @overload
    def group(self, group: int | str, /) -> AnyStr | Any: ...
    def start(self, group: int | str = 0, /) -> int: ...
    def end(self, group: int | str = 0, /) -> int: ...
