"""Settings: YAML file, environment overrides, keys from named variables, the demo fallback."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.errors import ModelNotFound
from shared.settings import load_settings

CONFIG = """
job_deadline_s: 120
providers:
  acme:
    kind: openai_compatible
    base_url: http://acme.invalid/v1
    api_key_env: ACME_TEST_KEY
models:
  acme-large:
    route: [{provider: acme, model: large-2}]
"""


def test_yaml_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    monkeypatch.setenv("LLM_GATEWAY_JOB_DEADLINE_S", "90")
    monkeypatch.setenv("REDIS_URL", "redis://example:6380/2")
    settings = load_settings(path)
    assert settings.job_deadline_s == 90
    assert settings.redis_url == "redis://example:6380/2"
    assert settings.visibility_timeout_s > settings.max_job_deadline_s


def test_a_provider_without_its_key_is_not_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    monkeypatch.delenv("ACME_TEST_KEY", raising=False)
    settings = load_settings(path)
    assert settings.resolve_model(None) == "demo"
    with pytest.raises(ModelNotFound):
        settings.resolve_model("acme-large")

    monkeypatch.setenv("ACME_TEST_KEY", "sk-secret")
    settings = load_settings(path)
    assert settings.resolve_model(None) == "acme-large"
    provider = settings.providers["acme"]
    assert provider.api_key is not None
    assert provider.api_key.get_secret_value() == "sk-secret"
    assert "sk-secret" not in repr(settings)
    assert "sk-secret" not in settings.model_dump_json()


def test_a_route_to_an_unknown_provider_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("models:\n  x:\n    route: [{provider: nobody, model: y}]\n")
    with pytest.raises(ValueError, match="unknown provider"):
        load_settings(path)
