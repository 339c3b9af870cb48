"""The provider catalogue and model routes: data from the YAML config file, not code."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from shared.capabilities import Capability
from shared.usage import Usage


class ProviderTimeouts(BaseModel):
    """The four budgets of every provider call."""

    model_config = ConfigDict(extra="forbid")

    connect_s: float = Field(5.0, gt=0)
    # A call asking for its whole answer at once (stream: false) has no first token and no
    # idle time between tokens: connect_s and total_s time it.
    first_token_s: float = Field(60.0, gt=0)
    idle_s: float = Field(60.0, gt=0)
    total_s: float = Field(600.0, gt=0)


class ProviderLimits(BaseModel):
    """The provider's own quota, held across every worker; None means unlimited."""

    model_config = ConfigDict(extra="forbid")

    requests_per_minute: int | None = Field(None, ge=1)
    tokens_per_minute: int | None = Field(None, ge=1)
    concurrent_requests: int | None = Field(None, ge=1)

    @property
    def any(self) -> bool:
        return any(v is not None for v in self.model_dump().values())


class ProviderConfig(BaseModel):
    """One upstream provider: which adapter speaks to it and how to reach it."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="adapter that speaks this provider's wire format")
    base_url: str | None = None
    # The key itself never sits in the config file: only the name of the variable holding it.
    api_key_env: str | None = None
    api_key: SecretStr | None = Field(None, exclude=True, description="resolved at load time")
    headers: dict[str, str] = Field(default_factory=dict)
    models: list[str] = Field(default_factory=list)
    timeouts: ProviderTimeouts = Field(default_factory=ProviderTimeouts)
    max_connections: int = Field(1000, ge=1)
    keepalive_s: float = Field(
        4.0,
        gt=0,
        description="an idle pooled connection is closed after this: below the provider's own "
        "keep-alive (often 5 s), so no request goes out on a connection the server is closing",
    )
    limits: ProviderLimits = Field(default_factory=ProviderLimits)
    options: dict[str, Any] = Field(default_factory=dict, description="adapter-specific")
    capabilities: list[Capability] | None = Field(
        None, description="what its models take (default: by adapter kind and known model)"
    )
    model_capabilities: dict[str, list[Capability]] = Field(
        default_factory=dict, description="per upstream model, in place of `capabilities`"
    )

    @property
    def enabled(self) -> bool:
        """A provider that names a key variable is usable only when that variable is set."""
        return self.api_key_env is None or self.api_key is not None


FILTER_PRESETS = {
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    "api_key": r"\b(?:sk|pk|rk|lgw)-[A-Za-z0-9_-]{16,}",
}


class OutputFilter(BaseModel):
    """Text replaced in every answer, streamed or not: a regex of your own, or a preset."""

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    pattern: str | None = None
    preset: str | None = Field(None, description=f"one of {', '.join(FILTER_PRESETS)}")
    replacement: str = "[REDACTED]"
    max_match_chars: int = Field(120, ge=1, le=4096, description="longest text it matches")

    @property
    def regex(self) -> str:
        if self.preset is not None:
            return FILTER_PRESETS[self.preset]
        assert self.pattern is not None
        return self.pattern

    @model_validator(mode="after")
    def _one_source(self) -> OutputFilter:
        if (self.pattern is None) == (self.preset is None):
            raise ValueError("an output filter takes a pattern or a preset")
        if self.preset is not None and self.preset not in FILTER_PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}")
        re.compile(self.regex)
        return self


class RouteStep(BaseModel):
    """One step of a route: which provider serves the model, under which upstream name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str
    model: str
    attempts: int = Field(1, ge=1, le=5, description="tries on this step before the next")
    extra_body: dict[str, Any] = Field(
        default_factory=dict, description="fields added to the upstream request body"
    )
    context_window: int | None = Field(
        None, ge=1, description="tokens; a context-length error falls back only to a larger one"
    )
    capabilities: tuple[Capability, ...] | None = Field(
        None,
        description="what this step takes, in place of its provider model's; filled in "
        "(sorted) when a request is routed",
    )


# "deterministic": only requests that set temperature 0; "always": every request; "never".
CacheEligibility = Literal["deterministic", "always", "never"]


class ModelCache(BaseModel):
    """A model's own cache rules, in place of the global ones where set."""

    model_config = ConfigDict(extra="forbid")

    eligible: CacheEligibility | None = None
    ttl_s: int | None = Field(None, ge=1)
    scope: Literal["key", "global"] | None = None


class CacheConfig(BaseModel):
    """The exact-match response cache and the coalescing of identical requests in flight."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    eligible: CacheEligibility = "deterministic"
    # "key": each API key has its own entries; "global": every key shares them.
    scope: Literal["key", "global"] = "key"
    ttl_s: int = Field(3600, ge=1, description="how long an answer is kept")
    max_ttl_s: int = Field(7 * 86_400, ge=1, description="cap of a request's own ttl_s")
    max_entry_bytes: int = Field(1_048_576, ge=1024, description="larger answers are not kept")
    coalesce: bool = Field(True, description="identical requests in flight share one job")


class ModelConfig(BaseModel):
    """A model name clients send, mapped to an ordered chain of providers."""

    model_config = ConfigDict(extra="forbid")

    route: list[RouteStep] = Field(min_length=1)
    description: str = ""
    output_filters: list[OutputFilter] | None = Field(
        None, description="this model's filters, in place of the global ones"
    )
    cache: ModelCache = Field(default_factory=ModelCache)


class AttachmentLimits(BaseModel):
    """Images and files one request may carry, and the bytes of each inline one."""

    model_config = ConfigDict(extra="forbid")

    max_images: int = Field(100, ge=0)
    max_files: int = Field(20, ge=0)
    max_image_bytes: int = Field(10 * 1024 * 1024, ge=1)
    max_file_bytes: int = Field(20 * 1024 * 1024, ge=1)


class CircuitConfig(BaseModel):
    """When a (provider, model) is skipped: opened by failures, probed before it is trusted."""

    model_config = ConfigDict(extra="forbid")

    failure_threshold: int = Field(5, ge=1, description="failures within window_s that open it")
    window_s: float = Field(60.0, gt=0)
    open_s: float = Field(30.0, gt=0, description="how long it stays open before a probe")
    probe_timeout_s: float = Field(60.0, gt=0, description="a probe that never reports expires")


class Price(BaseModel):
    """USD per million tokens for one provider model, from a date on."""

    model_config = ConfigDict(extra="forbid")

    effective_from: date = date(1970, 1, 1)
    input_per_mtok: float = Field(ge=0)
    cached_input_per_mtok: float | None = Field(None, ge=0, description="default: input")
    output_per_mtok: float = Field(ge=0)
    reasoning_per_mtok: float | None = Field(None, ge=0, description="default: output")
    cache_write_5m_per_mtok: float | None = Field(
        None, ge=0, description="prompt-cache writes kept 5 minutes; default: input"
    )
    cache_write_1h_per_mtok: float | None = Field(
        None, ge=0, description="prompt-cache writes kept an hour; default: input"
    )

    def cost(self, usage: Usage) -> float:
        """The job's cost in USD: cache reads, cache writes and reasoning tokens at their
        rates, the rest of the prompt and the completion at input and output rates."""
        prompt = usage.prompt_tokens
        cached = min(usage.cached_tokens, prompt)
        writes_5m = min(usage.cache_write_5m_tokens, prompt - cached)
        writes_1h = min(usage.cache_write_1h_tokens, prompt - cached - writes_5m)
        reasoning = min(usage.reasoning_tokens, usage.completion_tokens)
        total = (
            (prompt - cached - writes_5m - writes_1h) * self.input_per_mtok
            + cached * _or(self.cached_input_per_mtok, self.input_per_mtok)
            + writes_5m * _or(self.cache_write_5m_per_mtok, self.input_per_mtok)
            + writes_1h * _or(self.cache_write_1h_per_mtok, self.input_per_mtok)
            + (usage.completion_tokens - reasoning) * self.output_per_mtok
            + reasoning * _or(self.reasoning_per_mtok, self.output_per_mtok)
        )
        return round(total / 1_000_000, 10)


def _or(rate: float | None, default: float) -> float:
    return default if rate is None else rate


def price_at(prices: list[Price], day: date) -> Price | None:
    """The entry in force on ``day``: the latest ``effective_from`` not after it."""
    in_force = [p for p in prices if p.effective_from <= day]
    return max(in_force, key=lambda p: p.effective_from) if in_force else None


DEMO_PROVIDER = "demo"
DEMO_MODEL = "demo"


def with_builtin_demo(
    providers: dict[str, ProviderConfig], models: dict[str, ModelConfig]
) -> tuple[dict[str, ProviderConfig], dict[str, ModelConfig]]:
    """Add the built-in demo provider and model unless the config already defines them."""
    providers = dict(providers)
    models = dict(models)
    providers.setdefault(DEMO_PROVIDER, ProviderConfig(kind="demo"))
    models.setdefault(
        DEMO_MODEL,
        ModelConfig(
            route=[RouteStep(provider=DEMO_PROVIDER, model="demo-1")],
            description="built-in demo provider: deterministic text, no key needed",
        ),
    )
    return providers, models
