"""The README's examples run: each ```python block is a whole program.

Fragments that lean on names from around them (a store's connection, your transport)
are fenced ```py instead, and are not run.
"""

from __future__ import annotations

import pathlib
import re

import pytest

README = pathlib.Path(__file__).parent.parent / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _blocks() -> list[tuple[int, str]]:
    text = README.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in BLOCK.finditer(text)]


def test_readme_has_runnable_examples() -> None:
    assert len(_blocks()) >= 5


@pytest.mark.parametrize(
    ("line", "source"), [pytest.param(*block, id=f"line-{block[0]}") for block in _blocks()]
)
def test_readme_example_runs(line: int, source: str) -> None:
    exec(compile(source, f"README.md, block at line {line}", "exec"), {"__name__": "readme"})
