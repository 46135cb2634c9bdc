from typing import Any

class Config:
    # botocore takes its options (retries, region_name, ...) as keywords, checked at run time.
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...
