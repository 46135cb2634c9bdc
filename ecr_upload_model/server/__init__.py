"""The edge: the HTTP server of the JSON API and the durable stores behind it (nothing
below imports it)."""

#: The server is used through its modules (app, serve, stores, ...): nothing here.
__all__: list[str] = []
