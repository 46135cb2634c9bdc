# The part of the ORAS Python SDK (PyPI `oras`) the tests use.
from typing import Protocol

class _Response(Protocol):
    status_code: int

class OrasClient:
    def __init__(self, hostname: str | None = ..., insecure: bool = ...) -> None: ...
    def push(
        self,
        target: str,
        files: list[str] | None = ...,
        disable_path_validation: bool = ...,
        do_chunked: bool = ...,
        chunk_size: int = ...,
    ) -> _Response: ...
    def pull(self, target: str, outdir: str | None = ...) -> list[str]: ...
