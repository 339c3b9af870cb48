"""Test fakes. `tests.fakes.provider.FakeProvider` runs a fake LLM provider HTTP server.

(Nothing is imported here so that `python -m tests.fakes.provider` runs cleanly.)
"""
