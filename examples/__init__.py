"""Examples of servers built on ecr_upload_model, kept outside the package.

- :mod:`examples.sqlite_store`: upload sessions in a SQL table, shared by processes,
  with ``UPDATE ... WHERE revision = ?`` as the compare-and-swap.
- :mod:`examples.redis_store`: the same in Redis, with ``WATCH``/``MULTI``/``EXEC``.

They are type-checked with the package and run by ``tests/test_examples_*.py``.
"""
