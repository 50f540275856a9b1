"""The local console and its Slack Web API double: a product feature, not wiring."""
