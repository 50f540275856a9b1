"""Moved to `tests.commands.slack.test_blocks`; only its card helpers are re-exported here, for
`tests/slack/test_console_render.py` and `tests/slack/test_slack_double.py`.

Delete this module once those imports point at `tests.commands.slack.test_blocks`.
"""

from tests.commands.slack.test_blocks import approval, card

__all__ = ["approval", "card"]
