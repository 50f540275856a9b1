"""Tables, as SQLAlchemy Core metadata.

The Alembic migrations in `commands/ledger/migrations/versions` create exactly this schema (a test
compares them on SQLite and PostgreSQL), so the metadata is the one description of the
database the code relies on. State columns are plain strings guarded by CHECK
constraints: readable in any SQL client, and a new state needs a migration on purpose.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from commands.ledger.oauth_tables import build_oauth_tables
from commands.ledger.vocabulary import ApprovalAction, ApprovalState, IdempotencyState, Lifecycle

__all__ = [
    "APPROVAL_ACTIONS",
    "JSON_TYPE",
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
    "user_prefs",
    "workspace_settings",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


APPROVAL_ACTIONS = frozenset(ApprovalAction)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC timestamps on every backend.

    SQLite has no timezone type, so values are stored as naive UTC there (ISO text that
    sorts and compares correctly) and come back tagged as UTC; PostgreSQL uses timestamptz.
    Naive datetimes are refused on the way in: a silent local-time guess is how digests
    end up a day off.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware (UTC) datetime")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


#: JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JSON_TYPE: Any = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
#: 64-bit ids on PostgreSQL; SQLite only auto-increments a column declared INTEGER.
ID_TYPE: Any = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _in(column: str, values: frozenset[str] | type[StrEnum]) -> str:
    allowed = ", ".join(f"'{v}'" for v in sorted(str(v) for v in values))
    return f"{column} IN ({allowed})"


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

#: a batch of documents from one uploaded file, approved once (`ApprovalAction.BULK_ISSUE`, 0007_bulk);
#: the unique file id makes a double click on "Submit" one batch
bulk_batches = sa.Table(
    "bulk_batches",
    metadata,
    sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
    sa.Column("approval_id", ID_TYPE, sa.ForeignKey("approval_requests.id", ondelete="CASCADE"), nullable=True),
    sa.Column("file_id", sa.String(64), nullable=False, unique=True),
    sa.Column("file_name", sa.String(255), nullable=True),
    sa.Column("provider", sa.String(16), nullable=False),
    sa.Column("row_count", sa.Integer(), nullable=False),
    sa.Column("total", sa.BigInteger(), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False, server_default="KRW"),
    # the one progress message (chat.update'd), in the approval card's thread
    sa.Column("progress_channel", sa.String(64), nullable=True),
    sa.Column("progress_ts", sa.String(32), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Index(None, "approval_id", unique=True),
)

#: one row of the file: its line number and the document it became (each with its own key)
bulk_rows = sa.Table(
    "bulk_rows",
    metadata,
    sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
    sa.Column("batch_id", ID_TYPE, sa.ForeignKey("bulk_batches.id", ondelete="CASCADE"), nullable=False),
    sa.Column("row_number", sa.Integer(), nullable=False),
    sa.Column("document_id", ID_TYPE, sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False,
              unique=True),
    # the bulk submission that carried it (None: not submitted yet, or issued one by one)
    sa.Column("submit_id", sa.String(40), nullable=True),
    sa.Column("result_code", sa.String(64), nullable=True),
    sa.Column("result_message", sa.Text(), nullable=True),
    sa.UniqueConstraint("batch_id", "row_number"),
)

#: one bulkSubmit call, recorded before it is sent so a crash is reconciled with getBulkResult
bulk_submissions = sa.Table(
    "bulk_submissions",
    metadata,
    sa.Column("submit_id", sa.String(40), primary_key=True),
    sa.Column("batch_id", ID_TYPE, sa.ForeignKey("bulk_batches.id", ondelete="CASCADE"), nullable=False),
    sa.Column("family", sa.String(16), nullable=False),  # taxinvoice | cashbill
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("receipt_id", sa.String(40), nullable=True),
    sa.Column("row_count", sa.Integer(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint(_in("state", frozenset({"sending", "received", "done", "absent"})), name="state"),
    sa.Index(None, "batch_id"),
)

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
