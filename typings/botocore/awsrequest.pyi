from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any, Protocol

class _RawBody(Protocol):
    def stream(self) -> Iterator[bytes]: ...

class AWSPreparedRequest:
    method: str
    url: str
    # botocore's HTTPHeaders; once the request is signed its values are bytes.
    headers: Any
    # bytes for the JSON protocol; a file-like object for streaming operations.
    body: Any
    stream_output: bool
    def __init__(
        self, method: str, url: str, headers: Any, body: Any, stream_output: bool
    ) -> None: ...

class AWSResponse:
    url: str
    status_code: int
    headers: HeadersDict
    raw: _RawBody
    def __init__(
        self, url: str, status_code: int, headers: Mapping[str, str], raw: _RawBody
    ) -> None: ...
    @property
    def content(self) -> bytes: ...

class HeadersDict(MutableMapping[str, Any]):
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...
    def __getitem__(self, key: str) -> Any: ...
    def __setitem__(self, key: str, value: Any) -> None: ...
    def __delitem__(self, key: str) -> None: ...
    def __iter__(self) -> Iterator[str]: ...
    def __len__(self) -> int: ...

class AWSRequest:
    method: str
    url: str
    headers: HeadersDict
    data: Any
    context: dict[str, Any]
    def __init__(
        self,
        method: str | None = None,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        data: Any = None,
        params: Any = None,
        auth_path: str | None = None,
        stream_output: bool = False,
    ) -> None: ...
    def prepare(self) -> AWSPreparedRequest: ...
    @property
    def body(self) -> Any: ...
