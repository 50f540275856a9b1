"""Block Kit serialisation without reference cycles: the same JSON as slack_sdk's, nothing left
for the cyclic garbage collector."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from slack_sdk.models.basic_objects import JsonObject
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, RichTextBlock, RichTextSectionElement

from commands.slack.blocks import sdk_json
from commands.slack.blocks.status import build_status_message
from tests.commands.slack.test_blocks import card
from tests.security.test_escaping_builders import BUILDERS, Factory, arguments, as_json

SAMPLES = 4


@pytest.fixture
def sdk_method(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[..., Any]], None]:
    """Choose which `get_non_null_attributes` serialises (restored after the test)."""
    def use(method: Callable[..., Any]) -> None:
        monkeypatch.setattr(JsonObject, "get_non_null_attributes", method)
    return use


@pytest.fixture
def collector_off() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@pytest.mark.parametrize("builder", BUILDERS, ids=lambda f: f"{f.__module__}.{f.__name__}")
def test_every_builder_serialises_exactly_as_slack_sdk_does(builder: Callable[..., Any],
                                                            sdk_method: Callable[[Callable[..., Any]], None]) -> None:
    for sample in range(SAMPLES):
        kwargs = arguments(builder, Factory("Ünïcødé 세금계산서 <&> *bold* `code`", sample))
        sdk_method(sdk_json.sdk_get_non_null_attributes)
        expected = as_json(builder(**kwargs))
        sdk_method(sdk_json.get_non_null_attributes)
        assert as_json(builder(**kwargs)) == expected


def test_properties_block_kit_allows_empty_are_kept_and_other_empty_ones_left_out(
        sdk_method: Callable[[Callable[..., Any]], None]) -> None:
    blocks = [RichTextBlock(elements=[RichTextSectionElement(elements=[])]),
              ActionsBlock(elements=[ButtonElement(text="Go", action_id="go", value="")])]
    sdk_method(sdk_json.get_non_null_attributes)
    ours = [b.to_dict() for b in blocks]
    sdk_method(sdk_json.sdk_get_non_null_attributes)
    assert ours == [b.to_dict() for b in blocks]
    assert ours[0]["elements"][0]["elements"] == [] and "value" not in ours[1]["elements"][0]


def test_a_status_answer_leaves_nothing_for_the_cyclic_collector(
        sdk_method: Callable[[Callable[..., Any]], None], collector_off: None) -> None:
    blocks = build_status_message(card())
    sdk_method(sdk_json.get_non_null_attributes)
    [b.to_dict() for b in blocks]
    assert gc.collect() == 0

    sdk_method(sdk_json.sdk_get_non_null_attributes)  # slack_sdk's own: a closure cycle per object
    [b.to_dict() for b in blocks]
    assert gc.collect() >= 3 * len(blocks)


def test_install_puts_the_cycle_free_method_on_every_model(sdk_method: Callable[[Callable[..., Any]], None]) -> None:
    sdk_method(sdk_json.sdk_get_non_null_attributes)
    assert not sdk_json.installed()
    sdk_json.install()
    sdk_json.install()
    assert sdk_json.installed()
    assert ButtonElement.get_non_null_attributes is sdk_json.get_non_null_attributes
