"""Every Block Kit builder, fed hostile text in every text field, shows none of it raw.

The builders are discovered (every ``build_*`` function and every ``*_text`` twin in
`commands.slack`), and their arguments are made from their type hints: every ``str``
anywhere in a card, a row or a digest is a hostile string, every enum takes each of its
values in turn (so each card state and each branch is drawn). A new builder is walked
without being listed here; one whose argument types the factory cannot make fails the
test until the factory learns them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import importlib
import inspect
import pkgutil
import types
import typing
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from slack_sdk.models.basic_objects import JsonObject

import commands.slack
from commands.slack.formatting import SEOUL
from commands.slack.parser import CommandError
from providers.models import Amounts
from tests.security.hostile import HOSTILE, raw_markers

#: builders that build no message (data from the database) or need the whole app
NOT_MESSAGES = {"build_digest_data"}
#: fields whose value is a code, not text a person typed: a hostile value would not be a valid one
CODES = {"currency": "KRW"}
#: mappings keyed by a currency code
CURRENCY_KEYED = {"totals"}
#: mrkdwn the app writes itself and that may quote user text (the parser's refusals, advice): its
#: own backticks must survive, so there only Slack's control sequences (< > &) are checked
APP_MRKDWN = {"what_to_do", "problem", "hint"}
#: private answers (ephemeral: nobody is notified) that may keep a well-formed mention of a person
MENTIONS_KEPT = {"error_text"}
SAMPLES = 12  # each enum cycles through its values across the samples


@functools.cache
def type_hints(obj: Any) -> dict[str, Any]:
    """`typing.get_type_hints`, resolved once per class or function: it evaluates every string
    annotation anew on each call, which was two thirds of this module's CPU (2,400 builds)."""
    return typing.get_type_hints(obj)


def discover() -> list[Callable[..., Any]]:
    found = []
    for info in pkgutil.walk_packages(commands.slack.__path__, "commands.slack."):
        module = importlib.import_module(info.name)
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ != module.__name__ or name in NOT_MESSAGES or name.startswith("_"):
                continue
            if name.startswith("build_") or name.endswith("_text"):
                found.append(function)
    return found


class Factory:
    """Values of any annotated type, with `hostile` in every string and enum member `sample`."""

    def __init__(self, hostile: str, sample: int) -> None:
        self.hostile = hostile
        self.sample = sample

    def make(self, hint: Any, name: str = "") -> Any:
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if name in CODES and hint in (str, str | None):
            return CODES[name]
        if name in APP_MRKDWN and not any(c in self.hostile for c in "<>&"):
            return "the app's `own` advice"
        if origin in (typing.Union, types.UnionType):
            present = [a for a in args if a is not type(None)]
            return self.make(present[self.sample % len(present)], name)
        if hint is typing.Any or hint is str:
            return self.hostile
        if hint is bool:
            return self.sample % 2 == 0
        if hint is int:
            return 3 + self.sample
        if hint in (float, Decimal, Fraction):  # Fraction: a tax penalty rate (workflow.deadlines)
            return hint(2)
        if hint is dt.datetime:
            return dt.datetime(2026, 5, 4, 3, 2, tzinfo=dt.UTC)
        if hint is dt.date:
            return dt.date(2026, 5, 4)
        if hint is dt.tzinfo:
            return SEOUL
        if hint is Amounts:  # its total must add up
            return Amounts(supply=10_000, vat=1_000, total=11_000)
        if inspect.isclass(hint) and issubclass(hint, enum.Enum):
            members = list(hint)
            return members[self.sample % len(members)]
        if origin in (tuple,) and len(args) == 2 and args[1] is Ellipsis:
            return tuple(self.make(args[0], name) for _ in range(2))
        if origin is tuple:
            return tuple(self.make(a, name) for a in args)
        if origin in (list, Sequence, Collection, Iterable, frozenset, set):
            items = [self.make(args[0], name) for _ in range(2)]
            return frozenset(items) if origin in (frozenset, set) else items
        if origin in (dict, Mapping):
            key = "KRW" if name in CURRENCY_KEYED else self.make(args[0], name)
            return {key: self.make(args[1], name)}
        if origin is not None and (dataclasses.is_dataclass(origin) or issubclass(origin, BaseModel)):
            return self.build(origin, hint)
        if inspect.isclass(hint) and (dataclasses.is_dataclass(hint) or issubclass(hint, BaseModel)):
            return self.build(hint, hint)
        if hint is CommandError:
            return CommandError(self.make(str, "problem"), subcommand="issue", hint=self.make(str, "hint"))
        raise AssertionError(f"the factory cannot make a {hint!r} (for {name!r}): teach it")

    def build(self, cls: type, hint: Any) -> Any:
        hints = type_hints(cls)
        params = dict(zip(getattr(typing.get_origin(hint) or cls, "__parameters__", ()), typing.get_args(hint),
                          strict=False))
        if dataclasses.is_dataclass(cls):
            names = [f.name for f in dataclasses.fields(cls) if f.init]
        else:
            names = list(cls.model_fields)  # type: ignore[attr-defined]
        values = {}
        for field in names:
            annotation = hints[field]
            annotation = params.get(annotation, annotation)
            free = getattr(annotation, "__parameters__", ())
            if free and all(p in params for p in free):
                annotation = annotation[tuple(params[p] for p in free)]
            values[field] = self.make(annotation, field)
        try:
            return cls(**values)
        except ValidationError as exc:
            # an optional field the model constrains (a reason code 1-6, a 24-character number) keeps its
            # default; every other string still carries the hostile text
            for error in exc.errors():
                field = str(error["loc"][0])
                if not cls.model_fields[field].is_required():  # type: ignore[attr-defined]
                    values.pop(field, None)
            return cls(**values)


def arguments(function: Callable[..., Any], factory: Factory) -> dict[str, Any]:
    hints = type_hints(function)
    return {name: factory.make(hints[name], name) for name, parameter in inspect.signature(function).parameters.items()
            if parameter.kind is not inspect.Parameter.VAR_POSITIONAL}


def as_json(result: Any) -> Any:
    if isinstance(result, JsonObject):
        return result.to_dict()
    if isinstance(result, (list, tuple)):
        return [as_json(r) for r in result]
    return result


BUILDERS = discover()


def test_the_walk_finds_the_builders_of_every_surface() -> None:
    names = {f.__name__ for f in BUILDERS}
    assert {"build_approval_message", "approval_text", "build_status_message", "build_list_message",
            "build_pending_list_message", "build_home_view", "build_digest_blocks", "digest_text",
            "build_closure_message", "build_error_message"} <= names


@pytest.mark.parametrize("builder", BUILDERS, ids=lambda f: f"{f.__module__}.{f.__name__}")
@pytest.mark.parametrize("hostile", HOSTILE)
def test_no_builder_lets_user_text_through_raw(builder: Callable[..., Any], hostile: str) -> None:
    for sample in range(SAMPLES):
        result = builder(**arguments(builder, Factory(hostile, sample)))
        leaked = [(marker, text) for marker, text in raw_markers(as_json(result))
                  if not (builder.__name__ in MENTIONS_KEPT and marker == "<@U0BADBAD")]
        assert not leaked, f"{builder.__name__} (sample {sample}) shows user text raw: {leaked[:3]}"
