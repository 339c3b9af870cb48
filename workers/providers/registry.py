"""The one place adapters are registered: a provider's ``kind`` in the config picks its class."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from shared.config import ProviderConfig
from workers.providers.anthropic import AnthropicProvider
from workers.providers.base import Provider, ProviderFactory
from workers.providers.deepseek import DeepSeekProvider
from workers.providers.demo import DemoProvider
from workers.providers.openai_compatible import OpenAICompatibleProvider
from workers.providers.openrouter import OpenRouterProvider

ADAPTERS: Mapping[str, ProviderFactory] = MappingProxyType(
    {
        "demo": DemoProvider,
        "openai_compatible": OpenAICompatibleProvider,
        "deepseek": DeepSeekProvider,
        "openrouter": OpenRouterProvider,
        "anthropic": AnthropicProvider,
    }
)


def build_provider(name: str, config: ProviderConfig) -> Provider:
    """The adapter for one configured provider."""
    try:
        factory = ADAPTERS[config.kind]
    except KeyError:
        raise ValueError(
            f"provider {name!r} has unknown kind {config.kind!r}; known: {', '.join(ADAPTERS)}"
        ) from None
    return factory(name, config)


class ProviderPool:
    """One adapter (and so one pooled HTTP client) per provider, per worker process."""

    def __init__(self, configs: Mapping[str, ProviderConfig]) -> None:
        self._configs = configs
        self._providers: dict[str, Provider] = {}

    def get(self, name: str) -> Provider:
        provider = self._providers.get(name)
        if provider is None:
            provider = self._providers[name] = build_provider(name, self._configs[name])
        return provider

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()
        self._providers.clear()
