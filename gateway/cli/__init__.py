"""The ``llm-gateway`` command."""
