"""The deployment files (Dockerfile, compose.yml, deploy/) agree with the code they deploy.

Docker is not available where the suite runs, so the image is not built here: these tests
parse the files and check what can drift silently (a renamed setting, a health path, the
service name the load balancer points at, the replica count).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot.settings import Settings
from tests.paths import REPO_ROOT

SETTINGS = {name.upper() for name in Settings.model_fields}


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load((REPO_ROOT / "compose.yml").read_text()))


def _env_keys(path: Path) -> set[str]:
    keys = set()
    for line in path.read_text().splitlines():
        line = line.lstrip("# ").strip()
        if re.fullmatch(r"[A-Z][A-Z0-9_]*=.*", line):
            keys.add(line.split("=", 1)[0])
    return keys


def test_compose_runs_postgres_15_and_two_replicas_checked_on_ready() -> None:
    services = _compose()["services"]
    assert services["db"]["image"].startswith("postgres:15")
    bot = services["bot"]
    assert bot["deploy"]["replicas"] == 2
    assert "/ready" in " ".join(bot["healthcheck"]["test"])
    assert bot["environment"]["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@db:5432/" in bot["environment"]["DATABASE_URL"]
    assert services["migrate"]["command"] == ["migrate"]
    assert services["bot"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    # stop_grace_period must outlast the bot's own grace, or Docker's SIGKILL cuts provider calls
    grace = float(bot["environment"]["INVOICEBOT_SHUTDOWN_GRACE_SECONDS"])
    assert int(str(bot["stop_grace_period"]).rstrip("s")) > grace


def test_every_environment_name_in_the_deployment_is_a_real_setting() -> None:
    services = _compose()["services"]
    named = set(services["bot"]["environment"]) | set(services["migrate"]["environment"])
    named |= _env_keys(REPO_ROOT / "deploy" / "invoicebot.env.example")
    assert named, "the deployment configures something"
    assert named <= SETTINGS, f"not settings of bot/settings.py: {sorted(named - SETTINGS)}"
    for service in ("bot", "migrate"):
        env_file = services[service]["env_file"]
        assert (REPO_ROOT / f"{env_file}.example").exists(), f"{env_file} is documented by its .example"


def test_the_load_balancer_points_at_the_bot_service_port() -> None:
    conf = (REPO_ROOT / "deploy" / "nginx.conf").read_text()
    assert re.search(r"server\s+bot:3000\b", conf)
    lb = _compose()["services"]["lb"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in lb["volumes"]
    assert "http_503" in conf, "a draining replica's 503 goes to the next replica"


def test_the_image_runs_serve_http_as_a_non_root_user_with_a_health_check() -> None:
    text = (REPO_ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    assert re.search(r"^RUN .*pip install \.", text, re.M | re.S)
    user = re.findall(r"^USER (\S+)$", text, re.M)
    assert user and user[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/health", text, re.M)
    assert 'ENTRYPOINT ["invoicebot"]' in text and '"serve", "--http"' in text
    for copied in re.findall(r"^COPY (\S+) ", text, re.M):
        assert (REPO_ROOT / copied).exists(), f"COPY {copied}: no such path"
