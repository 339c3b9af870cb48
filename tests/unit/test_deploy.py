"""The deployment files match the code: the compose file is valid Compose, the Kubernetes
manifests render, every command is a real entry point, every variable a real setting, every key
the example config names is passed through, probes hit the right endpoints, and the ConfigMap
is the example config."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from importlib import resources
from typing import Any

import jsonschema
import pytest
import yaml

from gateway.app import create_native_api
from gateway.cli.config_docs import configmap
from shared.settings import Settings
from tests.unit.deploy_checks import (
    COMMAND_ERRORS,
    DEPLOY,
    EXAMPLE_CONFIG,
    ROOT,
    keys_the_example_uses,
    known_variable,
    parse_command,
)

COMPOSE = ROOT / "docker-compose.yml"
APP_SERVICES = ("gateway", "worker", "batch-worker")
ADMIN_KEY = "LLM_GATEWAY_ADMIN_KEY"


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def compose_schema() -> dict[str, Any]:
    """The Compose Specification's JSON schema, as check-jsonschema ships it (vendored from
    github.com/compose-spec/compose-spec, schema/compose-spec.json)."""
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    loaded: dict[str, Any] = json.loads((vendor / "compose-spec.json").read_text())
    return loaded


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(compose())]
    assert errors == []
    # The schema does catch mistakes (a misspelt key).
    broken = compose()
    broken["services"]["gateway"]["comand"] = ["gateway"]
    assert list(validator.iter_errors(broken))


def test_the_command_check_has_teeth() -> None:
    with pytest.raises(COMMAND_ERRORS):
        parse_command(["gateway", "--prot", "8000"])
    with pytest.raises(COMMAND_ERRORS):
        parse_command(["wroker"])


def test_compose_services_run_real_commands_with_real_settings() -> None:
    services = compose()["services"]
    for name in APP_SERVICES:
        service = services[name]
        parse_command(service["command"])
        environment = service["environment"]
        unknown = [v for v in environment if not known_variable(v)]
        assert unknown == [], f"{name}: {unknown} are not settings"
        passed = set(environment)
        missing = ({ADMIN_KEY} | keys_the_example_uses()) - passed
        assert missing == set(), f"{name} does not pass {missing} through"
        for variable in keys_the_example_uses():
            assert environment[variable] == f"${{{variable}:-}}"  # from the host, as it is
    flower = services["flower"]
    script = (
        " ".join(flower["command"]) if isinstance(flower["command"], list) else flower["command"]
    )
    assert "celery" in script and " flower" in script and "--basic-auth" in script
    assert shutil.which("celery", path=str(ROOT / ".venv" / "bin")) or shutil.which("celery")


def rendered_manifests() -> list[dict[str, Any]]:
    """``kubectl kustomize`` when kubectl is here; else the files kustomization.yaml lists,
    with its namespace and image applied the way kustomize applies them."""
    kubectl = shutil.which("kubectl")
    if kubectl is not None:
        out = subprocess.run(
            [kubectl, "kustomize", str(DEPLOY / "k8s")], check=True, capture_output=True, text=True
        ).stdout
        return [d for d in yaml.safe_load_all(out) if d]
    kustomization = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    (image,) = kustomization["images"]
    docs = []
    for resource in kustomization["resources"]:
        for doc in yaml.safe_load_all((DEPLOY / "k8s" / resource).read_text()):
            if doc:
                doc.setdefault("metadata", {})["namespace"] = kustomization["namespace"]
                docs.append(doc)
    for container in containers(docs):
        if container["image"].split(":")[0] == image["name"]:
            container["image"] = f"{image['newName']}:{image['newTag']}"
    return docs


def containers(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        c
        for d in docs
        if d["kind"] in ("Deployment", "StatefulSet")
        for c in d["spec"]["template"]["spec"]["containers"]
    ]


def deployment(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (found,) = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == name]
    return found


def secret_keys() -> set[str]:
    """The keys the example Secret documents, the commented ones included."""
    text = (DEPLOY / "k8s" / "secret.example.yaml").read_text()
    return set(re.findall(r"^\s*#?\s*([A-Z][A-Z0-9_]+):", text, re.M))


def test_kubernetes_manifests_run_real_commands_with_real_settings() -> None:
    docs = rendered_manifests()
    assert {d["metadata"]["namespace"] for d in docs if d["kind"] != "Namespace"} == {"llm-gateway"}
    for name in APP_SERVICES:
        pod = deployment(docs, name)["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["image"] == "llm-gateway:0.1.0"
        parse_command(container["args"])
        unknown = [e["name"] for e in container.get("env", []) if not known_variable(e["name"])]
        assert unknown == [], f"{name}: {unknown}"
        assert container["envFrom"] == [{"secretRef": {"name": "llm-gateway-env"}}]
        assert pod["enableServiceLinks"] is False
    documented = secret_keys()
    assert {ADMIN_KEY, "REDIS_URL"} | keys_the_example_uses() <= documented
    # Flower's own login is Flower's option, read by Flower alone.
    assert [k for k in documented if not known_variable(k) and k != "FLOWER_BASIC_AUTH"] == []
    flower = deployment(docs, "flower")["spec"]["template"]["spec"]["containers"][0]
    assert "--basic-auth" in flower["args"][0]


def probe_path(container: dict[str, Any], probe: str) -> tuple[str, int]:
    get = container[probe]["httpGet"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    return get["path"], ports[get["port"]]


def test_probes_and_scrapes_hit_the_right_endpoints() -> None:
    docs = rendered_manifests()
    routes = set(create_native_api(Settings())[0].openapi()["paths"])
    gateway_pod = deployment(docs, "gateway")["spec"]["template"]
    (gateway,) = gateway_pod["spec"]["containers"]
    assert probe_path(gateway, "readinessProbe") == ("/api/v1/health/ready", 8000)
    assert probe_path(gateway, "livenessProbe") == ("/api/v1/health/live", 8000)
    assert {"/api/v1/health/ready", "/api/v1/health/live", "/metrics"} <= routes
    # Scraped keyless on the gateway's metrics listener, not on the API port.
    gateway_env = {e["name"]: e.get("value") for e in gateway["env"]}
    metrics_port = gateway_env["LLM_GATEWAY_METRICS_LISTEN"].rsplit(":", 1)[1]
    ports = {p["name"]: p["containerPort"] for p in gateway["ports"]}
    assert ports["metrics"] == int(metrics_port)
    assert gateway_pod["metadata"]["annotations"]["prometheus.io/port"] == metrics_port
    assert gateway_pod["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"
    assert gateway["args"] == ["gateway", "--host", "0.0.0.0", "--port", "8000"]
    for name in ("worker", "batch-worker"):
        pod = deployment(docs, name)["spec"]["template"]
        (worker,) = pod["spec"]["containers"]
        env = {e["name"]: e.get("value") for e in worker["env"]}
        port = int(env["LLM_GATEWAY_WORKER_METRICS_PORT"])
        # Alive while its consumer consumes: the probe reads the file the worker touches then.
        liveness = " ".join(worker["livenessProbe"]["exec"]["command"])
        assert env["LLM_GATEWAY_WORKER_LIVENESS_FILE"] in liveness
        assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port)
    services = compose()["services"]
    assert "/api/v1/health/live" in " ".join(services["gateway"]["healthcheck"]["test"])
    port = services["worker"]["environment"]["LLM_GATEWAY_WORKER_METRICS_PORT"]
    assert f":{port}/metrics" in " ".join(services["worker"]["healthcheck"]["test"])


def test_the_configmap_is_the_example_config() -> None:
    text = (DEPLOY / "k8s" / "configmap.yaml").read_text()
    assert text == configmap(EXAMPLE_CONFIG.read_text()), (
        "regenerate: llm-gateway config configmap > deploy/k8s/configmap.yaml"
    )
    (doc,) = [d for d in rendered_manifests() if d["kind"] == "ConfigMap"]
    assert doc["data"]["config.yaml"] == EXAMPLE_CONFIG.read_text()
