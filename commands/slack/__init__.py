"""Slack-facing code: parsers, modals, Block Kit builders and one module per feature."""
