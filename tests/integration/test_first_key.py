"""The documented way to make the first client key in a container (compose: `docker compose
exec gateway llm-gateway keys create --name first`; Kubernetes: `kubectl exec deploy/gateway
-- ...`): the CLI, with only the container's environment, makes a key that works."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx
import pytest
import yaml

from tests.conftest import Stack
from tests.stack import ADMIN_KEY, ROOT

pytestmark = pytest.mark.integration


def test_the_first_key_from_the_containers_environment(stack: Stack) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    environment = compose["services"]["gateway"]["environment"]
    assert environment["LLM_GATEWAY_URL"].startswith("http://")  # what the CLI there reaches
    env = {
        "PATH": "/usr/bin:/bin",
        "LLM_GATEWAY_URL": stack.base_url,
        "LLM_GATEWAY_ADMIN_KEY": ADMIN_KEY,
    }
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "keys", "create", "--name", "first"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    (key,) = re.findall(r"lgw-[A-Za-z0-9_-]+", done.stdout)
    models = httpx.get(
        f"{stack.base_url}/api/v1/llm/models",
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert models.status_code == 200
