# Minimal typed subset of awscli (no type information): what the tests use.
