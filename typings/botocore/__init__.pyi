# Minimal typed subset of botocore, which ships no type information (no py.typed).
# Only what this project's tests use is declared; extend it as needed. Checked against
# botocore 1.43 with `MYPYPATH=typings python -m mypy.stubtest botocore boto3
# --ignore-missing-stub` (run with botocore and boto3 installed).

__version__: str

def xform_name(name: str, sep: str = "_", _xform_cache: dict[object, str] = ...) -> str: ...

# The signature_version that turns signing off.
UNSIGNED: object
