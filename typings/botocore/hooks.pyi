from collections.abc import Callable
from typing import Any

class HierarchicalEmitter:
    def register(
        self,
        event_name: str,
        handler: Callable[..., Any],
        unique_id: str | None = None,
        unique_id_uses_count: bool = False,
    ) -> None: ...
