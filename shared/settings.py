"""The one settings object, read once at start (YAML file, then environment) and passed in."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from shared.batch.config import BatchSettings
from shared.config import (
    DEMO_MODEL,
    AttachmentLimits,
    CacheConfig,
    CircuitConfig,
    ModelConfig,
    OutputFilter,
    Price,
    ProviderConfig,
    with_builtin_demo,
)
from shared.errors import ModelNotFound
from shared.keys import RedisKeys

CONFIG_ENV_VAR = "LLM_GATEWAY_CONFIG"


class TaskEvents(StrEnum):
    """When workers send Celery's task events (what Flower shows of each job)."""

    MONITORED = "monitored"
    ALWAYS = "always"
    NEVER = "never"


class CorsConfig(BaseModel):
    """Origins other than the gateway's own whose pages may call it; none by default."""

    model_config = ConfigDict(extra="forbid")

    allow_origins: list[str] = Field(
        default_factory=list, description="exact origins, e.g. https://app.example; * for any"
    )
    allow_origin_regex: str | None = Field(None, description="origins matching this also")
    max_age_s: int = Field(600, ge=0, description="how long a browser keeps a preflight")


class StreamTokenConfig(BaseModel):
    """Signed tokens scoped to one job and one owner, for EventSource's query string."""

    model_config = ConfigDict(extra="forbid")

    secret: SecretStr | None = Field(
        None, description="LLM_GATEWAY_STREAM_TOKENS__SECRET; the same on every gateway"
    )
    ttl_s: int = Field(900, ge=10, le=86_400, description="a token's life from when it is made")


def default_up_state_file() -> Path:
    """Where ``llm-gateway up`` says where it runs: under ``$XDG_STATE_HOME`` (XDG's place for
    state that outlives a run but is no user data), else ``~/.local/state``."""
    state_home = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state_home) / "llm-gateway" / "up.json"


class Settings(BaseSettings):
    """Everything the gateway, the workers and the CLI are configured by.

    Precedence: constructor arguments, then ``LLM_GATEWAY_*`` environment variables (nested
    with ``__``), then the YAML file, then these defaults.
    """

    model_config = SettingsConfigDict(
        env_prefix="LLM_GATEWAY_",
        env_nested_delimiter="__",
        extra="forbid",
        populate_by_name=True,
    )

    redis_url: str = Field(
        "redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("redis_url", "LLM_GATEWAY_REDIS_URL", "REDIS_URL"),
    )
    broker_url: str | None = Field(None, description="Celery broker; defaults to redis_url")
    redis_max_connections: int = Field(512, ge=8, description="per process")
    redis_pool_timeout_s: float = Field(10.0, gt=0, description="wait for a free connection")
    key_prefix: str = "llm"

    # Not "port": Kubernetes injects LLM_GATEWAY_PORT=tcp://... for a Service named llm-gateway.
    http_host: str = "127.0.0.1"
    http_port: int = Field(8000, ge=0, le=65535)

    # Jobs
    job_deadline_s: float = Field(300.0, gt=0, description="default deadline of a job")
    max_job_deadline_s: float = Field(3600.0, gt=0)
    interactive_queue: str = "llm.interactive"
    events_max_len: int = Field(100_000, ge=100, description="cap of a job's event stream")
    delta_interval_s: float = Field(
        0.02,
        ge=0,
        le=1,
        description="least time between a stream's stored deltas after its first: the tokens "
        "between are merged into one event (0: each goes once the one before is stored)",
    )
    result_ttl_s: int = Field(86_400, ge=60)
    events_ttl_s: int = Field(3600, ge=60)
    # A stored Responses API response (its whole conversation): OpenAI keeps them 30 days.
    response_ttl_s: int = Field(30 * 86_400, ge=60)
    # A running job's lease: its worker renews it three times per TTL; a lapsed one is recovered
    # by any worker's next recovery tick, so readers learn within the TTL plus a tick.
    job_lease_ttl_s: int = Field(10, ge=2, le=300, description="lease of a running job")
    recovery_interval_s: float = Field(
        1.0, gt=0, le=60, description="how often each worker looks for lapsed leases"
    )
    max_job_attempts: int = Field(
        3, ge=1, description="runs of a job whose worker keeps dying before it ends worker_lost"
    )
    idempotency_ttl_s: int = Field(
        86_400, ge=60, description="how long an Idempotency-Key names what it created"
    )

    # Access
    auth_enabled: bool = Field(True, description="every route but liveness needs an API key")
    admin_key: SecretStr | None = Field(None, description="LLM_GATEWAY_ADMIN_KEY; manages keys")
    key_cache_ttl_s: float = Field(
        30.0,
        ge=0,
        description="a gateway keeps a verified key this long at most (0: read it every "
        "request); every change to a key drops it from every gateway at once",
    )

    # Command line: the gateway that `keys`, `usage` and `cache` manage over HTTP. Unset, they
    # look for a running `llm-gateway up` in its state file, never at a guessed address.
    gateway_url: str | None = Field(
        None,
        validation_alias=AliasChoices("gateway_url", "LLM_GATEWAY_URL"),
        description="base URL of the gateway the CLI manages (LLM_GATEWAY_URL)",
    )
    up_state_file: Path = Field(
        default_factory=default_up_state_file,
        validation_alias=AliasChoices("up_state_file", "LLM_GATEWAY_UP_STATE_FILE"),
        description="where `up` writes its URL and keys (0600) and the CLI finds them",
    )

    # Gateway
    keepalive_interval_s: float = Field(15.0, gt=0)
    max_body_bytes: int = Field(
        32 * 1024 * 1024, ge=1024, description="request body cap (images travel inline)"
    )
    attachments: AttachmentLimits = Field(default_factory=AttachmentLimits)

    # Browsers: which other origins may call the gateway, and the short-lived tokens that let
    # an EventSource (which cannot send headers) read one job's events.
    cors: CorsConfig = Field(default_factory=CorsConfig)
    stream_tokens: StreamTokenConfig = Field(default_factory=StreamTokenConfig)
    sse_retry_ms: int = Field(
        2000, ge=100, le=600_000, description="the `retry:` hint: EventSource's reconnect delay"
    )
    console: bool = Field(True, description="the web console at /console")

    # The HTTP server's bounds on a request (gateway/http_protocol.py): 431 past the header
    # caps (the request target counts, so a GET stream's prompt fits in them), 408 for a
    # request whose head or body stalls.
    http_max_header_bytes: int = Field(65_536, ge=4096, description="request target + headers")
    http_max_headers: int = Field(100, ge=16)
    http_head_timeout_s: float = Field(10.0, gt=0, description="to receive a request's head")
    http_body_idle_timeout_s: float = Field(30.0, gt=0, description="silence within a body")

    # Prometheus metrics (counts and latencies labelled by model, provider and outcome only:
    # never a key, a job, a prompt). On the API port, /metrics takes the metrics key or the
    # admin key, unless public; metrics_listen serves them keyless on an address of their own
    # (a private network, or 127.0.0.1 for a sidecar), as scrapers usually expect.
    metrics_public: bool = Field(False, description="/metrics on the API port without a key")
    metrics_key: SecretStr | None = Field(None, description="bearer token scrapers send")
    metrics_listen: str | None = Field(
        None,
        pattern=r"^[^:\s]+:[0-9]{1,5}$",
        description="host:port of a keyless listener serving only /metrics",
    )

    # GraphQL (/graphql)
    graphql_explorer: bool = Field(
        True, description="GraphiQL at GET /graphql; turn off in production (introspection stays)"
    )
    graphql_max_document_chars: int = Field(16_384, ge=1024, description="query text size cap")
    # The standard introspection query nests 15 deep and costs about 9,000.
    graphql_max_depth: int = Field(15, ge=3, description="nesting of fields in one operation")
    graphql_max_cost: int = Field(
        10_000, ge=100, description="1 a field, x5 per list around it, 1,000 a completion"
    )

    # Worker
    worker_concurrency: int = Field(
        1000, ge=1, description="jobs one worker process runs at once (threads that only wait)"
    )
    worker_liveness_file: Path | None = Field(
        None, description="touched while the worker consumes; a liveness probe checks its age"
    )

    task_events: TaskEvents = Field(
        TaskEvents.MONITORED,
        description="when workers send Celery task events: monitored (while a monitor such as "
        "Flower asks for them, as it does every 5 s), always (for monitors that only listen), "
        "or never",
    )
    consumer_stall_s: float = Field(
        20.0,
        gt=0,
        description="a worker whose consumer has not polled a queue for this long, with room "
        "for jobs, reports it and restarts its consumer; after twice as long it exits",
    )

    # Observability
    log_format: Literal["auto", "json", "text"] = Field(
        "auto", description="json: one JSON object a line; auto: text on a terminal, else json"
    )
    log_prompts: bool = Field(
        False, description="debugging only: workers log each job's messages at DEBUG"
    )
    metrics_key_labels: bool = Field(
        False, description="label request and cost metrics with API key ids (one series a key)"
    )
    worker_metrics_port: int | None = Field(
        None, ge=0, le=65535, description="port of each worker's Prometheus metrics; unset: none"
    )
    worker_metrics_host: str = Field("0.0.0.0", description="address of the workers' metrics")

    circuit: CircuitConfig = Field(default_factory=CircuitConfig)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    batch: BatchSettings = Field(default_factory=BatchSettings)
    output_filters: list[OutputFilter] = Field(default_factory=list)
    # provider -> upstream model -> prices over time
    prices: dict[str, dict[str, list[Price]]] = Field(default_factory=dict)
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    default_model: str | None = None

    _enabled_models: tuple[frozenset[str], list[str]] | None = PrivateAttr(None)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, YamlConfigSettingsSource(settings_cls))

    @model_validator(mode="after")
    def _complete_catalogue(self) -> Settings:
        self.providers, self.models = with_builtin_demo(self.providers, self.models)
        for name, model in self.models.items():
            for step in model.route:
                if step.provider not in self.providers:
                    raise ValueError(f"model {name!r} routes to unknown provider {step.provider!r}")
        if self.max_job_deadline_s < self.job_deadline_s:
            raise ValueError("max_job_deadline_s must be at least job_deadline_s")
        return self

    @property
    def celery_broker_url(self) -> str:
        return self.broker_url or self.redis_url

    @property
    def broker_is_store(self) -> bool:
        """The Celery broker is the job store's own Redis (its queues sit beside the jobs)."""
        return self.celery_broker_url == self.redis_url

    @property
    def visibility_timeout_s(self) -> int:
        """Above the longest deadline, so a running job is not redelivered while it runs."""
        return int(self.max_job_deadline_s * 1.5) + 60

    @property
    def keys(self) -> RedisKeys:
        return RedisKeys(
            prefix=self.key_prefix,
            result_ttl_s=self.result_ttl_s,
            events_ttl_s=self.events_ttl_s,
            response_ttl_s=self.response_ttl_s,
            lease_ttl_s=self.job_lease_ttl_s,
        )

    def enabled_models(self) -> list[str]:
        """Models whose route has at least one provider with its key present (worked out again
        only when which providers have keys changes: it is asked on every request)."""
        keyed = frozenset(name for name, provider in self.providers.items() if provider.enabled)
        known = self._enabled_models
        if known is None or known[0] != keyed:
            names = [
                name
                for name, model in self.models.items()
                if any(step.provider in keyed for step in model.route)
            ]
            known = self._enabled_models = (keyed, names)
        return list(known[1])

    def job_deadline_for(self, timeout_s: float | None) -> float:
        """A job's deadline in seconds: the one its request asks for (else the default),
        capped by max_job_deadline_s."""
        return min(timeout_s or self.job_deadline_s, self.max_job_deadline_s)

    def resolve_model(self, requested: str | None) -> str:
        """The model a request runs on; raises ModelNotFound for a name nobody serves."""
        name = requested or self.default_model or self._first_keyed_model()
        if name not in self.models or name not in self.enabled_models():
            raise ModelNotFound(
                f"model {name!r} is not served here; GET /api/v1/llm/models lists the models",
                details={"available": self.enabled_models()},
            )
        return name

    def _first_keyed_model(self) -> str:
        keyed = [m for m in self.enabled_models() if m != DEMO_MODEL]
        return keyed[0] if keyed else DEMO_MODEL


def load_settings(config_path: Path | str | None = None, **overrides: Any) -> Settings:
    """Read the settings once: the YAML file from ``config_path`` or ``$LLM_GATEWAY_CONFIG``,
    and provider keys from the variables the file names."""
    env = os.environ
    path = config_path or env.get(CONFIG_ENV_VAR)
    if path and not Path(path).is_file():
        raise FileNotFoundError(
            f"config file {path} does not exist (from --config or ${CONFIG_ENV_VAR})"
        )

    class _FromFile(Settings):
        model_config = SettingsConfigDict(yaml_file=path)

    settings: Settings = _FromFile(**overrides)
    for provider in settings.providers.values():
        if provider.api_key_env and env.get(provider.api_key_env):
            provider.api_key = SecretStr(env[provider.api_key_env])
    return settings
