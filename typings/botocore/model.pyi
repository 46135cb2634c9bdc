from typing import Any

class Shape:
    name: str
    def __init__(
        self, shape_name: str, shape_model: dict[str, Any], shape_resolver: Any | None = None
    ) -> None: ...

class StructureShape(Shape): ...

class ServiceModel:
    # Set in __init__, or botocore CachedProperty attributes (computed once, read-only).
    metadata: dict[str, Any]
    protocol: str
    operation_names: list[str]
    def __init__(
        self, service_description: dict[str, Any], service_name: str | None = None
    ) -> None: ...
    def operation_model(self, operation_name: str) -> OperationModel: ...
    def shape_for_error_code(self, error_code: str) -> StructureShape | None: ...

class OperationModel:
    # botocore CachedProperty attributes (computed once, read-only).
    output_shape: StructureShape | None
    error_shapes: list[StructureShape]
    def __init__(
        self, operation_model: dict[str, Any], service_model: ServiceModel, name: str | None = None
    ) -> None: ...
