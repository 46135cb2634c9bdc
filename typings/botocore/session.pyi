from typing import Any

from botocore.model import ServiceModel

class Session:
    def __init__(
        self,
        session_vars: dict[str, Any] | None = None,
        event_hooks: Any | None = None,
        include_builtin_handlers: bool = True,
        profile: str | None = None,
    ) -> None: ...
    def get_service_model(
        self, service_name: str, api_version: str | None = None
    ) -> ServiceModel: ...

def get_session(env_vars: dict[str, Any] | None = None) -> Session: ...
