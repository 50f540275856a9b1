"""What `start_runtime` sets up for the whole process, beyond the objects it returns."""

from __future__ import annotations

from pathlib import Path

import pytest
from slack_sdk.models.basic_objects import JsonObject

from commands.slack.blocks import sdk_json
from tests.app.harness import running_bot


async def test_a_started_bot_serialises_block_kit_without_reference_cycles(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(JsonObject, "get_non_null_attributes", sdk_json.sdk_get_non_null_attributes)
    async with running_bot(tmp_path):
        assert sdk_json.installed()
