# Minimal typed subset of tqdm, which ships no type information (no py.typed).
# Only what this project uses is declared; extend it as needed.

from typing import Any, TextIO

class tqdm:
    n: float
    def __init__(
        self,
        iterable: Any = None,
        desc: str | None = None,
        total: float | None = None,
        leave: bool | None = True,
        file: TextIO | None = None,
        ncols: int | None = None,
        mininterval: float = 0.1,
        maxinterval: float = 10.0,
        miniters: float | None = None,
        ascii: bool | str | None = None,
        disable: bool | None = False,
        unit: str = "it",
        unit_scale: bool | float = False,
        dynamic_ncols: bool = False,
        smoothing: float = 0.3,
        bar_format: str | None = None,
        initial: float = 0,
        position: int | None = None,
        postfix: Any = None,
        unit_divisor: float = 1000,
        **kwargs: Any,
    ) -> None: ...
    def update(self, n: float | None = 1) -> bool | None: ...
    def reset(self, total: float | None = None) -> None: ...
    def close(self) -> None: ...
    def refresh(self) -> None: ...
