"""The differential tester's parts, each with one job; :mod:`ecr_upload_model.testing`
puts them together.

- :mod:`.calls`: a call described so that it can be replayed on fresh repositories;
- :mod:`.answers`: what of two answers is compared, and what may honestly differ;
- :mod:`.runner`: one example, each call sent to the server and the reference, the ids
  each side gave mapped to shared labels, and the books of what the reference accepted;
  replaying and shortening a sequence that differs;
- :mod:`.report`: a sequence that differs, written for a person;
- :mod:`.machine`: which call comes next (the Hypothesis state machine), the faults of
  the catalogue put in.
"""
