"""slack_sdk's Block Kit serialisation, without leaving a reference cycle behind per object.

`slack_sdk.models.basic_objects.JsonObject.get_non_null_attributes` (slack_sdk 3.x; every
`to_dict()` of a block, element, text or option object ends in it) defines a recursive closure,
``to_dict_compatible``, that calls itself through its own closure cell. Each call therefore
leaves a function, a cell and a tuple in a reference cycle that reference counting never frees:
only the cyclic garbage collector does. A status answer serialises a few dozen such objects, so
a flood of commands fed the collector on every answer. Measured with `gc.callbacks` and
`gc.DEBUG_SAVEALL` in `invoicebot serve` during `INVOICEBOT_BENCH_ACK=status:closed python -m
bench --only ack` (five repetitions of 1,000 status commands, 2026-11-30): 806,897 objects
collected in 277 collections, 1.4 s of collector pauses, 20 of them over 5 ms (up to 125 ms)
while acks waited; 1,520 of the 1,768 functions found in cycles in a shorter run were this
closure, nearly all the rest start-up garbage. With the same method written as module-level
functions (below): 2,454 objects collected, 0.57 s of pauses.

`install` puts `get_non_null_attributes` (same rules, same dict, same key order) on `JsonObject`
once, replacing slack_sdk's; `bot.runtime` calls it when it builds the bot. The test
(`tests/commands/slack/blocks/test_sdk_json.py`) checks that every builder's blocks serialise
to exactly what slack_sdk's own method gives, and that no cycle is left.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models import basic_objects
from slack_sdk.models.basic_objects import JsonObject

__all__ = ["get_non_null_attributes", "install", "installed", "sdk_get_non_null_attributes"]

#: slack_sdk's own method, kept for comparison (tests) and for `installed`
sdk_get_non_null_attributes = JsonObject.get_non_null_attributes


def _compatible(value: Any) -> Any:
    """A value as JSON-compatible data: lists and tuples item by item, objects with `to_dict` by it."""
    if isinstance(value, (list, tuple)):
        return [_compatible(item) for item in value]
    to_dict = getattr(value, "to_dict", None)
    if to_dict is not None and callable(to_dict):
        return {key: _compatible(item) for key, item in to_dict().items()}
    return value


def _not_empty(obj: JsonObject, key: str) -> bool:
    """slack_sdk's rule: None is left out, and so is an empty list or string, except the few
    properties Block Kit allows to be empty (`EMPTY_ALLOWED_TYPE_AND_PROPERTY_LIST`)."""
    value = obj.get_object_attribute(key)
    if value is None:
        return False
    kind = getattr(obj, "type", None)
    for allowed in basic_objects.EMPTY_ALLOWED_TYPE_AND_PROPERTY_LIST:
        if kind == allowed["type"] and key == allowed["property"]:
            return True
    if getattr(value, "__len__", None) is not None:
        return len(value) > 0
    return True


def get_non_null_attributes(self: JsonObject) -> dict[str, Any]:
    """The object's set attributes as a dict, keys sorted: `JsonObject.get_non_null_attributes`
    without the self-referencing closure."""
    return {key: _compatible(self.get_object_attribute(key)) for key in sorted(self.attributes)
            if _not_empty(self, key)}


def install() -> None:
    """Serialise every slack_sdk model with `get_non_null_attributes` (idempotent)."""
    JsonObject.get_non_null_attributes = get_non_null_attributes  # type: ignore[method-assign]


def installed() -> bool:
    return JsonObject.get_non_null_attributes is get_non_null_attributes
