"""The server: the edge that touches the world (durable stores; nothing below imports it)."""
