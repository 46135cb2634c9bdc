from collections.abc import Mapping
from typing import Any

from botocore.model import Shape

class ResponseParser:
    def __init__(
        self, timestamp_parser: Any | None = None, blob_parser: Any | None = None
    ) -> None: ...
    def parse(self, response: Mapping[str, Any], shape: Shape | None) -> dict[str, Any]: ...

def create_parser(protocol: str) -> ResponseParser: ...
