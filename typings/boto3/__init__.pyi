# Minimal typed subset of boto3, which ships no type information (no py.typed).
# Only what this project's tests use is declared; extend it as needed.

from boto3.session import Session as Session

__version__: str
