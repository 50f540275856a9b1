"""Tables, as SQLAlchemy Core metadata.

The Alembic migrations in `commands/ledger/migrations/versions` create exactly this schema (a test
compares them on SQLite and PostgreSQL), so the metadata is the one description of the
database the code relies on. State columns are plain strings guarded by CHECK
constraints: readable in any SQL client, and a new state needs a migration on purpose.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from commands.ledger.oauth_tables import build_oauth_tables
from commands.ledger.schema_bulk import bulk_batches, bulk_rows, bulk_submissions
from commands.ledger.schema_types import ID_TYPE, JSON_TYPE, UtcDateTime, _in, metadata
from commands.ledger.vocabulary import ApprovalAction, ApprovalState, IdempotencyState, Lifecycle

__all__ = [
    "APPROVAL_ACTIONS",
    "JSON_TYPE",
    "NO_DUE_DATE",
    "ApprovalAction",
    "ApprovalState",
    "IdempotencyState",
    "Lifecycle",
    "UtcDateTime",
    "approval_requests",
    "approval_votes",
    "audit_events",
    "bulk_batches",
    "bulk_rows",
    "bulk_submissions",
    "callback_events",
    "closure_checks",
    "digest_posts",
    "digest_runs",
    "digest_schedules",
    "documents",
    "idempotency_keys",
    "issued_hourly",
    "metadata",
    "replay_keys",
    "slack_bots",
    "slack_installations",
    "slack_oauth_states",
    "step_executions",
    "unpaid_daily",
    "user_prefs",
    "workspace_settings",
]

APPROVAL_ACTIONS = frozenset(ApprovalAction)

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
    # INV-000123, derived from the id in the same transaction as the insert
    sa.Column("ref", sa.String(24), nullable=True, unique=True),
    sa.Column("provider", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("provider_id", sa.String(128), nullable=True),
    # "bot": issued through us; "external": issued elsewhere, adopted to destroy/resend it
    sa.Column("origin", sa.String(16), nullable=False, server_default="bot"),
    sa.Column("sandbox", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("buyer_name", sa.String(200), nullable=True),
    sa.Column("buyer_bizno", sa.String(20), nullable=True),
    sa.Column("buyer_email", sa.String(320), nullable=True),
    sa.Column("buyer_phone", sa.String(40), nullable=True),
    sa.Column("supply", sa.BigInteger(), nullable=True),
    sa.Column("vat", sa.BigInteger(), nullable=True),
    sa.Column("total", sa.BigInteger(), nullable=True),
    sa.Column("currency", sa.String(3), nullable=False, server_default="KRW"),
    sa.Column("lifecycle", sa.String(24), nullable=False),
    sa.Column("state", sa.String(24), nullable=True),
    sa.Column("raw_state", sa.String(64), nullable=True),
    sa.Column("state_detail", sa.Text(), nullable=True),
    sa.Column("write_date", sa.Date(), nullable=True),
    sa.Column("due_date", sa.Date(), nullable=True),
    sa.Column("issued_at", UtcDateTime(), nullable=True),
    sa.Column("state_checked_at", UtcDateTime(), nullable=True),
    sa.Column("confirm_number", sa.String(64), nullable=True),
    sa.Column("links", JSON_TYPE, nullable=True),
    sa.Column("request", JSON_TYPE, nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("requested_by", sa.String(64), nullable=True),
    sa.Column("channel_id", sa.String(64), nullable=True),
    sa.Column("thread_ts", sa.String(32), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    # 수정세금계산서: the document this one amends, and the NTS reason code (1..6)
    sa.Column("amends_document_id", ID_TYPE, sa.ForeignKey("documents.id", ondelete="RESTRICT"), nullable=True),
    sa.Column("modify_code", sa.SmallInteger(), nullable=True),
    # the workspace (team, Enterprise Grid organisation) that asked for it; None: before workspaces were recorded
    sa.Column("team_id", sa.String(32), nullable=True),
    sa.Column("enterprise_id", sa.String(32), nullable=True),
    sa.UniqueConstraint("provider", "provider_id"),
    sa.CheckConstraint(_in("lifecycle", Lifecycle), name="lifecycle"),
    sa.CheckConstraint(_in("origin", frozenset({"bot", "external"})), name="origin"),
    sa.Index(None, "lifecycle", "state"),
    sa.Index(None, "created_at"),
    # The digest's windows and lists (0005_speed); each is checked with EXPLAIN in
    # tests/commands/ledger/test_digest_indexes.py. Covering indexes where a query
    # aggregates many rows, so it reads the index and never the table.
    sa.Index("ix_documents_issued_window", "issued_at", "currency", "lifecycle", "state", "provider", "sandbox",
             "total", "channel_id"),
    sa.Index("ix_documents_provider_open", "provider", "state", "lifecycle", "currency", "total", "due_date",
             "channel_id"),
    sa.Index("ix_documents_state_due", "state", "due_date", "lifecycle", "provider", "currency", "total",
             "channel_id"),
    sa.Index(None, "lifecycle", "updated_at"),
    sa.Index("ix_documents_state_window", "state", "updated_at", "lifecycle", "provider", "currency", "sandbox",
             "total", "channel_id"),
    sa.Index(None, "buyer_bizno"),
    # 0011_digestagg: the deadlines' unissued requests; covering for failure/cancel totals and buyer names
    sa.Index("ix_documents_unissued_written", "lifecycle", "write_date", "kind", "provider"),
    sa.Index("ix_documents_lifecycle_window", "lifecycle", "updated_at", "currency", "total", "provider", "sandbox",
             "channel_id"),
    sa.Index("ix_documents_bizno_name", "buyer_bizno", "buyer_name"),
    sa.Index(None, "amends_document_id"),
    sa.Index(None, "team_id", "id"),
)

#: KRW issued per UTC hour, provider and channel, for the digest's 14-day chart: kept exact by
#: triggers on `documents` (insert, update of the columns that decide it, delete), created in
#: the 0005_speed migration for SQLite and PostgreSQL, so the chart reads a few hundred rows
#: however many documents there are. Only documents that stand issued are counted.
issued_hourly = sa.Table(
    "issued_hourly",
    metadata,
    sa.Column("hour", UtcDateTime(), primary_key=True),
    sa.Column("provider", sa.String(16), primary_key=True),
    sa.Column("currency", sa.String(3), primary_key=True),
    sa.Column("channel_id", sa.String(64), primary_key=True),  # '' for documents without a channel
    sa.Column("count", sa.BigInteger(), nullable=False),
    sa.Column("amount", sa.BigInteger(), nullable=False),
)

#: Unpaid documents per due day (none: `NO_DUE_DATE`), provider, currency and channel, kept by triggers
#: (0011_digestagg): the digest's unpaid, expiring and overdue totals read a few rows per due day.
unpaid_daily = sa.Table(
    "unpaid_daily",
    metadata,
    sa.Column("due_date", sa.Date(), primary_key=True),
    sa.Column("provider", sa.String(16), primary_key=True),
    sa.Column("currency", sa.String(3), primary_key=True),
    sa.Column("channel_id", sa.String(64), primary_key=True),  # '' for documents without a channel
    sa.Column("count", sa.BigInteger(), nullable=False),
    sa.Column("amount", sa.BigInteger(), nullable=False),
    sa.Index("ix_unpaid_daily_provider", "provider", "due_date"),
)
NO_DUE_DATE = dt.date(9999, 1, 1)  # 0011_digestagg; not date.max, which asyncpg sends as infinity

approval_requests = sa.Table(
    "approval_requests",
    metadata,
    sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("document_id", ID_TYPE, sa.ForeignKey("documents.id", ondelete="RESTRICT"), nullable=False),
    sa.Column("payload", JSON_TYPE, nullable=True),
    sa.Column("requester", sa.String(64), nullable=False),
    sa.Column("decider", sa.String(64), nullable=True),
    sa.Column("state", sa.String(16), nullable=False),
    # a failure where nothing happened at the provider (timeout before sending, 5xx): retry is offered
    sa.Column("retryable", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("reason", sa.Text(), nullable=True),
    sa.Column("outcome_code", sa.String(64), nullable=True),
    sa.Column("outcome_message", sa.Text(), nullable=True),
    sa.Column("user_hint", sa.Text(), nullable=True),
    sa.Column("idempotency_key", sa.String(160), nullable=True),
    sa.Column("channel_id", sa.String(64), nullable=True),  # where the approval card is
    sa.Column("message_ts", sa.String(32), nullable=True),
    sa.Column("origin_channel_id", sa.String(64), nullable=True),  # where the request came from
    sa.Column("origin_thread_ts", sa.String(32), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("decided_at", UtcDateTime(), nullable=True),
    sa.Column("expires_at", UtcDateTime(), nullable=True),
    sa.Column("started_at", UtcDateTime(), nullable=True),
    sa.Column("finished_at", UtcDateTime(), nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    # the workspace the request came from: a decision from another one is refused (0003_access)
    sa.Column("team_id", sa.String(32), nullable=True),
    sa.Column("enterprise_id", sa.String(32), nullable=True),
    # an edited issue request replacing a rejected, expired or failed one
    sa.Column("resubmits_request_id", ID_TYPE, sa.ForeignKey("approval_requests.id", ondelete="SET NULL"),
              nullable=True),
    # how many distinct approvers must approve (N of M): more above the amount threshold or after an override
    sa.Column("required_approvals", sa.Integer(), nullable=False, server_default="1"),
    # why the requester asked anyway although the buyer is closed or unregistered (휴폐업)
    sa.Column("override_reason", sa.Text(), nullable=True),
    sa.CheckConstraint(_in("action", ApprovalAction), name="action"),
    sa.CheckConstraint(_in("state", ApprovalState), name="state"),
    sa.Index(None, "state", "expires_at"),
    sa.Index(None, "state", "created_at", "id"),  # pending approvals, oldest first (0005_speed)
    sa.Index(None, "document_id"),
    sa.Index(None, "resubmits_request_id", unique=True),  # resubmitted once at most
)

#: one row per approver who approved a request; the unique key makes a repeated click count once
approval_votes = sa.Table(
    "approval_votes",
    metadata,
    sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
    sa.Column("approval_id", ID_TYPE, sa.ForeignKey("approval_requests.id", ondelete="CASCADE"), nullable=False),
    sa.Column("approver", sa.String(64), nullable=False),
    sa.Column("voted_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("approval_id", "approver"),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    # category: command, decision, provider_call, callback, digest, system
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("operation", sa.String(64), nullable=True),  # e.g. issue, destroy, approve
    sa.Column("document_id", ID_TYPE, sa.ForeignKey("documents.id", ondelete="SET NULL"), nullable=True),
    sa.Column("document_ref", sa.String(160), nullable=True),
    sa.Column("approval_id", ID_TYPE, sa.ForeignKey("approval_requests.id", ondelete="SET NULL"), nullable=True),
    sa.Column("outcome", sa.String(64), nullable=True),
    sa.Column("detail", JSON_TYPE, nullable=True),
    sa.Index(None, "document_id"),
    sa.Index(None, "approval_id"),
    sa.Index(None, "at"),
    sa.Column("team_id", sa.String(32), nullable=True),
    sa.Column("enterprise_id", sa.String(32), nullable=True),
    sa.Index(None, "team_id"),
    # the digest's "last sweep" (0011_digestagg): the newest of one kind of event, not a day of events
    sa.Index("ix_audit_events_action_operation_at", "action", "operation", "at", "id"),
)

closure_checks = sa.Table(
    "closure_checks",
    metadata,
    sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
    sa.Column("bizno", sa.String(10), nullable=False),
    sa.Column("provider", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("raw_state", sa.String(32), nullable=True),
    sa.Column("tax_type", sa.String(64), nullable=True),
    sa.Column("state_date", sa.Date(), nullable=True),
    sa.Column("detail", sa.Text(), nullable=True),
    sa.Column("checked_at", UtcDateTime(), nullable=False),
    sa.Column("checked_by", sa.String(64), nullable=True),
    sa.Index(None, "bizno", "id"),
    sa.Index(None, "checked_at"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("key", sa.String(160), primary_key=True),
    sa.Column("operation", sa.String(32), nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("result", JSON_TYPE, nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint(_in("state", IdempotencyState), name="state"),
)

digest_schedules = sa.Table(
    "digest_schedules",
    metadata,
    sa.Column("channel_id", sa.String(64), primary_key=True),
    sa.Column("time", sa.String(5), nullable=False),  # HH:MM in `timezone`
    sa.Column("timezone", sa.String(64), nullable=False, server_default="Asia/Seoul"),
    sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column("created_by", sa.String(64), nullable=True),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("team_id", sa.String(32), nullable=True),
    sa.Column("enterprise_id", sa.String(32), nullable=True),
    sa.Index(None, "team_id"),
)

digest_runs = sa.Table(
    "digest_runs",
    metadata,
    sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
    sa.Column("channel_id", sa.String(64), nullable=False),
    sa.Column("day", sa.Date(), nullable=False),
    sa.Column("claimed_at", UtcDateTime(), nullable=False),
    sa.Column("claimed_by", sa.String(128), nullable=False),
    sa.Column("posted_at", UtcDateTime(), nullable=True),
    sa.Column("message_ts", sa.String(32), nullable=True),
    sa.Column("summary", JSON_TYPE, nullable=True),
    # the claim is a lease (`commands.ledger.leases`): its holder renews it until done; an
    # unfinished claim whose lease ran out belonged to a dead replica and may be taken over
    sa.Column("lease_expires_at", UtcDateTime(), nullable=True),
    sa.Column("done_at", UtcDateTime(), nullable=True),
    sa.Column("takeovers", sa.Integer(), nullable=False, server_default="0"),
    sa.UniqueConstraint("channel_id", "day"),
)

#: every digest that reached a channel, scheduled or asked for with ``digest now``: "the previous
#: digest of a channel" (a digest's window) and App Home's "last digest" read this one table
digest_posts = sa.Table(
    "digest_posts",
    metadata,
    sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
    sa.Column("channel_id", sa.String(64), nullable=False),
    sa.Column("posted_at", UtcDateTime(), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("day", sa.Date(), nullable=True),  # the scheduled day; None for ``digest now``
    sa.Column("message_ts", sa.String(32), nullable=True),
    sa.Column("summary", JSON_TYPE, nullable=True),
    sa.CheckConstraint(_in("kind", frozenset({"now", "scheduled"})), name="kind"),
    sa.Index(None, "channel_id", "posted_at"),
    sa.Index(None, "posted_at"),
    sa.Column("team_id", sa.String(32), nullable=True),
    sa.Column("enterprise_id", sa.String(32), nullable=True),
    sa.Index(None, "team_id"),
)

#: what an admin changed for one workspace (over the environment's defaults), and its provider
#: credentials encrypted; keyed by the team (or, for an org-wide install, the organisation) id
workspace_settings = sa.Table(
    "workspace_settings",
    metadata,
    sa.Column("team_id", sa.String(32), primary_key=True),
    sa.Column("enterprise_id", sa.String(32), nullable=True),
    sa.Column("overrides", JSON_TYPE, nullable=True),
    sa.Column("credentials", sa.Text(), nullable=True),
    sa.Column("updated_by", sa.String(64), nullable=True),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

callback_events = sa.Table(
    "callback_events",
    metadata,
    sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
    sa.Column("provider", sa.String(16), nullable=False),
    sa.Column("dedup_key", sa.String(200), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("payload", JSON_TYPE, nullable=True),
    sa.UniqueConstraint("provider", "dedup_key"),
    sa.Index(None, "received_at"),
)

#: Workflow Builder custom steps waiting on a request (0008_steps): the step completes from the
#: request's outcome, by whichever process sees it first (`state` open -> done by compare-and-set)
step_executions = sa.Table(
    "step_executions",
    metadata,
    sa.Column("function_execution_id", sa.String(64), primary_key=True),
    sa.Column("callback_id", sa.String(64), nullable=False),
    sa.Column("approval_id", ID_TYPE, sa.ForeignKey("approval_requests.id", ondelete="CASCADE"), nullable=True),
    sa.Column("state", sa.String(16), nullable=False),
    # the execution's own token (xwfp-), valid until the step completes; cleared then
    sa.Column("bot_token", sa.Text(), nullable=True),
    sa.Column("team_id", sa.String(32), nullable=True),
    sa.Column("enterprise_id", sa.String(32), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("completed_at", UtcDateTime(), nullable=True),
    sa.CheckConstraint(_in("state", frozenset({"open", "done"})), name="state"),
    sa.Index(None, "approval_id"),
    sa.Index(None, "state"),
)

#: slack_sdk's installation, bot and OAuth state tables (`bot.oauth` stores installs in the ledger's database)
slack_installations, slack_bots, slack_oauth_states = build_oauth_tables(metadata)

#: every state-changing Slack request already handled, by a key its replay repeats (the view id and
#: a hash of its values, a trigger id, an event id): the first INSERT wins, across replicas
replay_keys = sa.Table(
    "replay_keys",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Index(None, "received_at"),
)

#: one row per Slack user the bot has met: the language they chose (`/invoice lang`, None = not
#: chosen) and the locale Slack last reported for them; the workspace's "auto" language is the
#: majority of these
user_prefs = sa.Table(
    "user_prefs",
    metadata,
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("language", sa.String(8), nullable=True),
    sa.Column("slack_locale", sa.String(16), nullable=True),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint(_in("language", frozenset({"ko", "en"})), name="language"),
)

#: calls spent today on a provider that meters calls by the day (Hiworks: 1,000 a day per office), one
#: row per (provider, credentials scope, provider day); shared by restarts and replicas (0011_budget)
provider_calls = sa.Table(
    "provider_calls",
    metadata,
    sa.Column("provider", sa.String(16), primary_key=True),
    # "" for the bot's own credentials, else the workspace (team id) whose own credentials were used
    sa.Column("scope", sa.String(32), primary_key=True),
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column("calls", sa.Integer(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)
