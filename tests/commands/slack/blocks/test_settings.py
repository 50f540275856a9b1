"""The settings modal shows values but never credentials, and its submission reads back."""

from __future__ import annotations

import json

from bot.console.forms import build_view_state, modal_to_prompts
from commands.slack.blocks.settings import build_settings_modal, parse_settings_submission
from commands.workflow.workspace_settings import EffectiveSettings


def test_the_modal_round_trips_and_credentials_show_only_their_status() -> None:
    settings = EffectiveSettings(approvers=frozenset({"U_BOB", "S_LEADS"}), two_approvals_above=500, language="ko")
    view = build_settings_modal(settings, {"popbill_secret_key": True}).to_dict()
    text = json.dumps(view, ensure_ascii=False)
    assert "Popbill SecretKey (set)" in text and "Payssam API key (not set)" in text
    values = build_view_state(modal_to_prompts(view), {"admins_users": "U_ADA", "cred_payssam_api_key": "k-1"})
    raw, replacements = parse_settings_submission(values)
    assert sorted(raw["approvers"]) == ["S_LEADS", "U_BOB"] and raw["admins"] == ["U_ADA"]
    assert raw["two_approvals_above"] == "500" and raw["language"] == "ko"
    assert replacements == {"payssam_api_key": "k-1"}


def test_without_a_key_the_credentials_section_has_no_inputs() -> None:
    view = build_settings_modal(EffectiveSettings(), None).to_dict()
    assert "no encryption key" in json.dumps(view)
    assert not any(str(b.get("block_id", "")).startswith("cred_") for b in view["blocks"])
