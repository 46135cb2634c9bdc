from collections.abc import Callable
from typing import Any

class RetryContext:
    attempt_number: int
    def __init__(
        self,
        attempt_number: int,
        operation_model: Any | None = None,
        parsed_response: dict[str, Any] | None = None,
        http_response: Any | None = None,
        caught_exception: Exception | None = None,
        request_context: dict[str, Any] | None = None,
    ) -> None: ...

class RetryEventAdapter: ...

class ExponentialBackoff:
    def __init__(
        self,
        max_backoff: float = 20,
        random: Callable[[], float] = ...,
        service_name: str | None = None,
        throttling_detector: Any | None = None,
    ) -> None: ...
    def delay_amount(self, context: RetryContext) -> float: ...

class StandardRetryConditions:
    def __init__(self, max_attempts: int = 3) -> None: ...
    def is_retryable(self, context: RetryContext) -> bool: ...

class ThrottlingErrorDetector:
    def __init__(self, retry_event_adapter: RetryEventAdapter) -> None: ...
    def is_throttling_error_from_context(self, context: RetryContext) -> bool: ...
