"""The edge: the HTTP server of the JSON API and the durable stores behind it (nothing
below imports it)."""
