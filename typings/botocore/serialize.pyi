from collections.abc import Mapping
from typing import Any

from botocore.model import OperationModel

class Serializer:
    def __init__(self, timestamp_precision: str = "default") -> None: ...
    def serialize_to_request(
        self, parameters: Mapping[str, Any], operation_model: OperationModel
    ) -> dict[str, Any]: ...

def create_serializer(
    protocol_name: str, include_validation: bool = True, timestamp_precision: str = "default"
) -> Serializer: ...
