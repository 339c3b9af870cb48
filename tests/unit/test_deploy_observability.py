"""The dashboard and the alert rules are built on metrics the code exports, with labels those
metrics have; the PrometheusRule for the Operator holds the same rules; and the configuration
reference and example configs match the settings object."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from prometheus_client import CollectorRegistry

from gateway.cli.config_docs import reference
from gateway.metrics import GatewayMetrics
from shared.settings import load_settings
from tests.unit.deploy_checks import DEPLOY
from workers.metrics import WorkerMetrics

SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
SELECTOR = re.compile(r"\b(llm_gateway_[a-z0-9_]+)(?:\{([^}]*)\})?")
GROUPING = re.compile(r"\bby\s*\(([^)]*)\)")


def exported() -> dict[str, set[str]]:
    """Every series name the gateway and workers export, with its label names."""
    names: dict[str, set[str]] = {}
    registries: list[CollectorRegistry] = [
        GatewayMetrics(key_labels=True).registry,
        WorkerMetrics(key_labels=True).registry,
    ]
    for registry in registries:
        for collector in list(registry._collector_to_names):  # every metric, observed or not
            labels = set(getattr(collector, "_labelnames", ()))
            kind = collector._type  # type: ignore[attr-defined]
            base = collector._name  # type: ignore[attr-defined]
            for suffix in SUFFIXES[kind]:
                extra = {"le"} if suffix == "_bucket" else set()
                names[base + suffix] = labels | extra
    return names


def expressions() -> dict[str, str]:
    dashboard = json.loads((DEPLOY / "grafana" / "llm-gateway.json").read_text())
    found = {f"panel {p['title']}": t["expr"] for p in dashboard["panels"] for t in p["targets"]}
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            found[f"alert {rule['alert']}"] = rule["expr"]
    return found


def test_every_expression_uses_exported_metrics_and_their_labels() -> None:
    names = exported()
    for where, expr in expressions().items():
        used = SELECTOR.findall(expr)
        assert used, f"{where} uses no llm_gateway metric"
        labels_in_expr: set[str] = set()
        for name, matchers in used:
            assert name in names, f"{where}: {name} is not exported"
            for matcher in filter(None, (m.strip() for m in matchers.split(","))):
                label = re.split(r"=~|!=|!~|=", matcher)[0].strip()
                assert label in names[name], f"{where}: {name} has no label {label}"
            labels_in_expr |= names[name]
        for grouping in GROUPING.findall(expr):
            for label in filter(None, (g.strip() for g in grouping.split(","))):
                assert label in labels_in_expr, f"{where}: no metric has the label {label}"


def test_the_alerts_cover_what_operators_page_on() -> None:
    alerts = {w.split(" ", 1)[1]: e for w, e in expressions().items() if w.startswith("alert")}
    wanted = {
        "LLMGatewayHighErrorRate": "llm_gateway_jobs_total",
        "LLMGatewaySlowFirstToken": "llm_gateway_time_to_first_token_seconds_bucket",
        "LLMGatewayQueueBacklog": "llm_gateway_queue_oldest_message_age_seconds",
        "LLMGatewayCircuitOpen": "llm_gateway_circuit_state",
        "LLMGatewayBudgetRefusals": "llm_gateway_budget_refusals_total",
    }
    for alert, metric in wanted.items():
        assert metric in alerts[alert]
    panels = " ".join(e for w, e in expressions().items() if w.startswith("panel"))
    for metric in wanted.values():
        assert metric in panels


def test_the_operator_rule_holds_the_same_alerts() -> None:
    docs = list(yaml.safe_load_all((DEPLOY / "k8s" / "monitoring.optional.yaml").read_text()))
    (rule,) = [d for d in docs if d and d["kind"] == "PrometheusRule"]
    plain = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())
    assert rule["spec"]["groups"] == plain["groups"]
    monitors: list[dict[str, Any]] = [d for d in docs if d and d["kind"] == "PodMonitor"]
    # Gateways and workers alike are scraped on their keyless metrics port.
    assert {e["port"] for m in monitors for e in m["spec"]["podMetricsEndpoints"]} == {"metrics"}


def test_the_configuration_reference_is_generated_from_the_settings() -> None:
    text = (DEPLOY / "configuration.md").read_text()
    assert text == reference(), "regenerate: llm-gateway config docs > deploy/configuration.md"
    for key in ("`worker_metrics_port`", "`cache.ttl_s`", "`LLM_GATEWAY_CACHE__TTL_S`"):
        assert key in text


def test_the_example_configs_load() -> None:
    examples = sorted((DEPLOY / "examples").glob("*.yaml"))
    assert [p.stem for p in examples] == ["development", "production", "test"]
    for path in [*examples, DEPLOY / "config.example.yaml"]:
        settings = load_settings(path)
        assert settings.default_model is None or settings.default_model in settings.models
    production = load_settings(DEPLOY / "examples" / "production.yaml")
    assert production.log_format == "json" and not production.graphql_explorer
    assert production.worker_metrics_port is not None
