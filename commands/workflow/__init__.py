"""The workflow: requests, approvals, execution and reads; knows nothing of Slack."""
