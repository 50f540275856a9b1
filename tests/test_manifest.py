"""manifest.yml installs: it validates against Slack's manifest schema and asks only for what the code uses."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import yaml

from tests.paths import REPO_ROOT, SHARED

ROOT = REPO_ROOT
SCHEMAS = SHARED / "reference"


def manifest() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_manifest_validates_against_slacks_schema() -> None:
    data = manifest()
    version = data["_metadata"]["major_version"]
    schema = json.loads((SCHEMAS / f"manifest.schema.{version}.0.0.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)
    dispatcher = json.loads((SCHEMAS / "manifest.schema.json").read_text(encoding="utf-8"))
    assert str(version) in json.dumps(dispatcher)


def test_manifest_declares_the_command_interactivity_home_and_socket_mode() -> None:
    data = manifest()
    commands = {c["command"]: c for c in data["features"]["slash_commands"]}
    assert "/invoice" in commands and commands["/invoice"]["usage_hint"]
    assert data["features"]["app_home"]["home_tab_enabled"] is True
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert data["settings"]["socket_mode_enabled"] is True
    # function_executed: Workflow Builder runs the app's custom steps (tests/app/test_steps.py)
    assert data["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened", "function_executed"]


def test_manifest_asks_only_for_the_scopes_the_code_uses() -> None:
    used_methods = set()
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("commands/**/*.py")]:
        # the console's Web API double answers calls, it does not make them; parts below the
        # root only, so a checkout that happens to live in a folder named "console" still counts
        if "console" in path.relative_to(ROOT).parts:
            continue
        used_methods |= set(re.findall(r"client\.(\w+)\(", path.read_text(encoding="utf-8")))
    needs = {
        "chat_postMessage": "chat:write", "chat_update": "chat:write", "chat_postEphemeral": "chat:write",
        "files_upload_v2": "files:write", "conversations_open": "im:write",
        "files_info": "files:read", "files_list": "files:read",
        "usergroups_users_list": "usergroups:read", "users_info": "users:read",
        "conversations_members": "channels:read",
        # a digest's run is reconciled from its channel's history (public or private channel)
        "conversations_history": "channels:history groups:history",
    }
    required = {scope for m in used_methods if m in needs for scope in needs[m].split()} | {"commands"}
    granted = set(manifest()["oauth_config"]["scopes"]["bot"])
    assert required <= granted, f"missing scopes: {required - granted}"
    unused = granted - required
    assert not unused, f"scopes the code does not use: {unused}"


def test_oauth_installs_ask_for_the_manifests_scopes_with_rotation_and_org_wide_installs() -> None:
    from bot.settings import DEFAULT_SLACK_SCOPES

    data = manifest()
    assert DEFAULT_SLACK_SCOPES.split(",") == data["oauth_config"]["scopes"]["bot"]
    assert data["settings"]["token_rotation_enabled"] is True
    assert data["settings"]["org_deploy_enabled"] is True


def test_manifest_declares_the_custom_steps_the_app_registers() -> None:
    """Every step the app handles is declared (and nothing else), run by the app itself, and its
    parameters are the shape Slack's schema 2 gives them (required ones among the declared)."""
    from commands.workflow.steps import REQUEST_STEP, STATUS_STEP, WAIT_STEP

    data = manifest()
    functions = data["functions"]
    assert set(functions) == {REQUEST_STEP, STATUS_STEP, WAIT_STEP}
    assert data["settings"]["function_runtime"] == "remote"
    assert data["settings"]["org_deploy_enabled"] is True  # Slack publishes steps only from org-ready apps
    source = (ROOT / "commands/slack/features/steps.py").read_text(encoding="utf-8")
    for name in ("REQUEST_STEP", "STATUS_STEP", "WAIT_STEP"):
        assert f"app.function({name})" in source
    for callback_id, spec in functions.items():
        for side in ("input_parameters", "output_parameters"):
            declared = spec[side]
            assert set(declared.get("required", [])) <= set(declared["properties"]), (callback_id, side)
    request_inputs = functions[REQUEST_STEP]["input_parameters"]["properties"]
    assert {"provider", "kind", "requester", "buyer_business_number", "buyer_name", "items", "amount"} <= set(
        request_inputs)
    assert request_inputs["requester"]["type"] == "slack#/types/user_id"
