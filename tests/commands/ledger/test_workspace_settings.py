"""The workspace_settings repository, and the workspace recorded on digest posts and audit events."""

from __future__ import annotations

from commands.ledger import Store
from commands.ledger import digest_queries as q
from commands.ledger.workspaces import WorkspaceScope

ALPHA, BETA = WorkspaceScope("T_ALPHA", "E_ORG"), WorkspaceScope("T_BETA")


async def test_a_row_is_upserted_and_keeps_what_a_save_leaves_out(store: Store) -> None:
    repo = store.workspace_settings
    assert await repo.get(ALPHA) is None
    await repo.save(ALPHA, overrides={"language": "ko"}, updated_by="U_ADA")
    await repo.save(ALPHA, credentials="sealed", updated_by="U_ADA")
    row = await repo.get(ALPHA)
    assert row is not None and row.overrides == {"language": "ko"} and row.credentials == "sealed"
    assert row.enterprise_id == "E_ORG"
    await repo.save(ALPHA, overrides={}, updated_by="U_EVE")
    row = await repo.get(ALPHA)
    assert row is not None and row.overrides == {} and row.credentials == "sealed" and row.updated_by == "U_EVE"
    assert await repo.get(BETA) is None


async def test_app_homes_last_digest_is_the_viewers_workspaces(store: Store) -> None:
    await store.digests.record_post("C_ALPHA", message_ts="1.1", summary={"issued": 1}, workspace=ALPHA)
    await store.digests.record_post("C_BETA", message_ts="2.2", summary={"issued": 2}, workspace=BETA)
    alpha = await q.latest_posted_run(store, ALPHA)
    assert alpha is not None and alpha.channel_id == "C_ALPHA"
    everything = await q.latest_posted_run(store)
    assert everything is not None and everything.channel_id == "C_BETA"


async def test_a_schedule_records_its_workspace(store: Store) -> None:
    await store.digests.upsert_schedule("C_ALPHA", time="09:00")
    await store.digests.set_schedule_workspace("C_ALPHA", ALPHA)
    record = await store.digests.get_schedule("C_ALPHA")
    assert record is not None and (record.team_id, record.enterprise_id) == ("T_ALPHA", "E_ORG")


async def test_an_audit_event_about_a_document_belongs_to_the_documents_workspace(store: Store) -> None:
    from commands.ledger import AuditKind, Lifecycle
    from providers.models import DocumentKind, Provider

    doc = await store.documents.create(provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE,
                                       lifecycle=Lifecycle.ISSUED, workspace=BETA)
    await store.audit.record(actor="system", action=AuditKind.SYSTEM, document_id=doc.id)
    await store.audit.record(actor="system", action=AuditKind.SYSTEM, workspace=ALPHA)
    await store.audit.record(actor="system", action=AuditKind.SYSTEM)
    assert [e.team_id for e in await store.audit.search(limit=10)] in (
        ["T_BETA", "T_ALPHA", None], [None, "T_ALPHA", "T_BETA"])
