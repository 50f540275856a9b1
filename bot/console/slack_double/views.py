"""Modals and App Home tabs: ``views.open``, ``views.push``, ``views.update``, ``views.publish``.

Slack's rules the app must live with are enforced: a trigger id works once and expires,
a modal stack holds the root and two pushed views, ``views.update`` and ``views.publish``
refuse a stale ``hash``, and App Home takes only views of type ``home``.
"""

from __future__ import annotations

from typing import Any

from bot.console.slack_double.checks import invalid_view
from bot.console.slack_double.records import MethodHandler, Stamps, TeamIdentity, slack_error

__all__ = ["Views"]

_MAX_VIEW_STACK = 3  # root + 2 pushed


class Views:
    """Every view opened or published, by view id, and each user's App Home."""

    def __init__(self, identity: TeamIdentity, stamps: Stamps) -> None:
        self.identity = identity
        self.stamps = stamps
        self.views: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, dict[str, Any]] = {}  # user id -> the home view they see
        self._used_triggers: set[str] = set()
        self._expired_triggers: set[str] = set()

    def methods(self) -> dict[str, MethodHandler]:
        return {
            "views.open": self.open,
            "views.push": self.push,
            "views.update": self.update,
            "views.publish": self.publish,
        }

    def expire_trigger(self, trigger_id: str) -> None:
        """Make views.open/push answer ``expired_trigger_id`` for this trigger."""
        self._expired_triggers.add(trigger_id)

    # -- helpers ------------------------------------------------------------------------------
    def _take_trigger(self, args: dict[str, Any]) -> dict[str, Any] | None:
        """Use up the call's trigger id; the refusal Slack gives when it cannot be used."""
        trigger = args.get("trigger_id") or args.get("interactivity_pointer")
        if not isinstance(trigger, str) or not trigger:
            return slack_error("invalid_arguments", ["missing required field: trigger_id"])
        if trigger in self._expired_triggers:
            return slack_error("expired_trigger_id")
        if trigger in self._used_triggers:
            return slack_error("exchanged_trigger_id")
        self._used_triggers.add(trigger)
        return None

    def _store(self, view: dict[str, Any], *, view_id: str | None = None, root: str | None = None,
               previous: str | None = None) -> dict[str, Any]:
        """Keep `view` as Slack would echo it back (ids, hash, empty state)."""
        me = self.identity
        view_id = view_id or self.stamps.new_id("V")
        stored = {
            "id": view_id, "team_id": me.team_id, "type": view.get("type"),
            "blocks": view.get("blocks", []), "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""), "state": {"values": {}},
            "hash": f"{self.stamps.seconds()}.{self.stamps.new_id('h')}", "title": view.get("title"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"), "submit": view.get("submit"),
            "previous_view_id": previous, "root_view_id": root or view_id, "app_id": me.app_id,
            "external_id": view.get("external_id", ""), "app_installed_team_id": me.team_id,
            "bot_id": me.bot_id,
        }
        self.views[view_id] = stored
        return stored

    def _target(self, args: dict[str, Any]) -> dict[str, Any] | None:
        """The view ``views.update`` names by ``view_id`` or ``external_id``."""
        view_id, external_id = args.get("view_id"), args.get("external_id")
        if view_id:
            return self.views.get(view_id)
        return next((v for v in self.views.values() if external_id and v["external_id"] == external_id), None)

    # -- methods ------------------------------------------------------------------------------
    def open(self, args: dict[str, Any]) -> dict[str, Any]:
        refused = self._take_trigger(args)
        if refused:
            return refused
        problems = invalid_view(args.get("view"))
        if problems:
            return slack_error("invalid_arguments", problems)
        return {"ok": True, "view": self._store(args["view"])}

    def push(self, args: dict[str, Any]) -> dict[str, Any]:
        refused = self._take_trigger(args)
        if refused:
            return refused
        problems = invalid_view(args.get("view"))
        if problems:
            return slack_error("invalid_arguments", problems)
        # Slack pushes onto the modal the trigger came from; the double uses the newest stack
        modals = [v for v in self.views.values() if v["type"] == "modal"]
        if not modals:
            return {"ok": True, "view": self._store(args["view"])}
        top = modals[-1]
        depth = sum(1 for v in modals if v["root_view_id"] == top["root_view_id"])
        if depth >= _MAX_VIEW_STACK:
            return slack_error("push_limit_reached")
        return {"ok": True, "view": self._store(args["view"], root=top["root_view_id"], previous=top["id"])}

    def update(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("view_id") and not args.get("external_id"):
            return slack_error("invalid_arguments", ["view_id or external_id is required"])
        target = self._target(args)
        if target is None:
            return slack_error("not_found")
        if args.get("hash") and args["hash"] != target["hash"]:
            return slack_error("hash_conflict")
        problems = invalid_view(args.get("view"))
        if problems:
            return slack_error("invalid_arguments", problems)
        stored = self._store(args["view"], view_id=target["id"], root=target["root_view_id"],
                             previous=target["previous_view_id"])
        return {"ok": True, "view": stored}

    def publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = args.get("user_id")
        if not isinstance(user, str) or not user:
            return slack_error("invalid_arguments", ["missing required field: user_id"])
        view = args.get("view")
        problems = invalid_view(view)
        if not isinstance(view, dict) or problems or view.get("type") != "home":
            return slack_error("invalid_arguments", problems or ["views.publish takes a view of type home"])
        previous = self.home_views.get(user)
        if previous and args.get("hash") and args["hash"] != previous["hash"]:
            return slack_error("hash_conflict")
        stored = self._store(view, view_id=previous["id"] if previous else None)
        self.home_views[user] = stored
        return {"ok": True, "view": stored}
