from typing import Any

from botocore.hooks import HierarchicalEmitter

class ClientMeta:
    # Set in __init__.
    events: HierarchicalEmitter
    def __init__(
        self,
        events: HierarchicalEmitter,
        client_config: Any,
        endpoint_url: str,
        service_model: Any,
        method_to_api_mapping: dict[str, str],
        partition: str,
    ) -> None: ...

class BaseClient:
    # Set in __init__.
    meta: ClientMeta
    def __init__(
        self,
        serializer: Any,
        endpoint: Any,
        response_parser: Any,
        event_emitter: HierarchicalEmitter,
        request_signer: Any,
        service_model: Any,
        loader: Any,
        client_config: Any,
        partition: Any,
        exceptions_factory: Any,
        endpoint_ruleset_resolver: Any | None = None,
        user_agent_creator: Any | None = None,
    ) -> None: ...
    # The operations (upload_layer_part, ...) and `exceptions` are made at run time from
    # the service model: botocore declares none of them.
    def __getattr__(self, item: str) -> Any: ...
