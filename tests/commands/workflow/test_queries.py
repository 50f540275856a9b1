"""Reads: status (fresh or last known), and the document list."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from commands.ledger import Lifecycle, Standing
from commands.workflow import NotFound
from providers.errors import (
    DocumentNotFound,
    ProviderUnavailable,
    RequestInvalid,
)
from providers.models import DocumentState
from tests.commands.workflow.conftest import (
    APPROVER,
    CHANNEL,
    REQUESTER,
    Env,
    issue,
    make_draft,
)


async def test_status_refreshes_from_the_provider(env: Env) -> None:
    ref = await issue(env)
    env.popbill.documents["INV-000001"] = env.popbill.documents["INV-000001"].model_copy(
        update={"state": DocumentState.FILED, "raw_state": "310"}
    )
    env.clock.advance(hours=1)


    view = await env.service.status(ref)


    assert view.state is DocumentState.FILED and view.raw_state == "310"
    assert view.state_checked_at == env.clock.now
    assert view.error is None
    stored = await env.store.documents.get_by_ref(ref)
    assert stored is not None and stored.raw_state == "310"


async def test_a_status_that_says_nothing_new_writes_nothing(env: Env) -> None:
    """A write transaction per status serialised a burst of them behind SQLite's write lock."""
    ref = await issue(env)
    await env.service.status(ref)  # the first read stores what the provider says
    before = await env.store.documents.get_by_ref(ref)
    env.clock.advance(hours=1)
    writes: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")):
            writes.append(statement)

    sync_engine = env.store.engine.sync_engine
    sa.event.listen(sync_engine, "before_cursor_execute", record)
    try:
        view = await env.service.status(ref)
    finally:
        sa.event.remove(sync_engine, "before_cursor_execute", record)

    assert writes == []
    assert view.state_checked_at == env.clock.now and view.state is before.state  # type: ignore[union-attr]
    assert view.model_dump(exclude={"state_checked_at"}) == (
        await env.service.status(ref, refresh=False)).model_dump(exclude={"state_checked_at"})


async def test_status_shows_the_last_known_state_when_the_provider_is_down(env: Env) -> None:
    ref = await issue(env)
    env.popbill.fail("status", ProviderUnavailable("connect timeout", provider="popbill", user_hint="try later"))


    view = await env.service.status(ref)


    assert view.state is DocumentState.ISSUED and view.lifecycle is Lifecycle.ISSUED
    assert view.error == "popbill: connect timeout"
    assert view.error_code == "unavailable" and view.error_hint == "try later"


async def test_status_tells_a_document_the_provider_does_not_know_from_an_unreachable_provider(env: Env) -> None:
    ref = await issue(env)
    env.popbill.fail("status", DocumentNotFound("Document ID does not exist", provider="popbill", code="-11000005"))

    missing = await env.service.status(ref)

    assert missing.provider_missing and not missing.provider_unreachable
    assert missing.state is DocumentState.ISSUED  # the last known state stays
    env.popbill.fail("status", ProviderUnavailable("connect timeout", provider="popbill"))
    down = await env.service.status(ref)
    assert down.provider_unreachable and not down.provider_missing


async def test_status_by_provider_ref_finds_our_document(env: Env) -> None:
    await issue(env)


    view = await env.service.status("popbill:INV-000001", refresh=False)


    assert view.ref == "INV-000001" and view.stored
    assert env.popbill.calls["status"] == 0


async def test_status_of_a_document_issued_elsewhere_asks_the_provider(env: Env) -> None:
    env.popbill.add_document("EXT-7", state=DocumentState.SENT)


    view = await env.service.status("popbill:EXT-7")
    missing = await env.service.status("popbill:NOPE")


    assert not view.stored and view.ref == "popbill:EXT-7"
    assert view.state is DocumentState.SENT and view.total == 11000
    assert missing.error is not None and missing.error_code == "not_found"
    assert await env.store.documents.search() == []  # looking does not adopt


async def test_status_of_an_unknown_ref(env: Env) -> None:
    with pytest.raises(NotFound, match="INV-000042 does not exist"):
        await env.service.status("INV-42")
    with pytest.raises(RequestInvalid):
        await env.service.status("what?")
    view = await env.service.status("abillify:A-1")  # not configured here
    assert view.error == "abillify is not configured on this bot"


async def test_a_pending_document_is_not_looked_up(env: Env) -> None:
    await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)


    view = await env.service.status("INV-000001")


    assert view.lifecycle is Lifecycle.PENDING_APPROVAL and view.provider_id is None
    assert env.popbill.calls["status"] == 0


async def test_list_documents_filters(env: Env) -> None:
    await issue(env)
    await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)


    issued = await env.service.list_documents(state=DocumentState.ISSUED)
    everything = await env.service.list_documents()


    assert [d.ref for d in issued] == ["INV-000001"]
    assert [d.ref for d in everything] == ["INV-000002", "INV-000001"]


async def test_list_by_standing_finds_what_every_surface_labels_the_same(env: Env) -> None:
    await issue(env)
    rejected = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)
    await env.service.decide(rejected.id, APPROVER, approve=False, reason="wrong buyer")

    found = {s: [d.ref for d in await env.service.list_documents(standing=s)] for s in Standing}

    assert found[Standing.REJECTED] == ["INV-000002"]
    assert found[Standing.ISSUED] == ["INV-000001"]
    assert found[Standing.PENDING] == [] and found[Standing.CANCELLED] == []


class _Statements:
    """Statements (BEGIN apart) and pool checkouts on an engine while it is attached."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine, self.statements, self.checkouts = engine, list[str](), 0

    def _statement(self, conn: object, cursor: object, statement: str, *args: object) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):
            self.statements.append(statement)

    def _checkout(self, *args: object) -> None:
        self.checkouts += 1

    def __enter__(self) -> _Statements:
        sa.event.listen(self.engine, "before_cursor_execute", self._statement)
        sa.event.listen(self.engine, "checkout", self._checkout)
        return self

    def __exit__(self, *exc: object) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._statement)
        sa.event.remove(self.engine, "checkout", self._checkout)


async def test_a_status_with_its_history_reads_on_one_connection_in_two_statements(env: Env) -> None:
    """The row with its amendments in one SELECT, the audit history in another, on one connection:
    each statement and each checkout is a round-trip (under aiosqlite, several thread hand-offs)."""
    ref = await issue(env)
    await env.service.status(ref)  # the first read stores what the provider says
    env.clock.advance(hours=1)

    with _Statements(env.store.engine.sync_engine) as seen:
        view, events = await env.service.status_with_history(ref, history=40)

    assert len(seen.statements) <= 2 and seen.checkouts == 1, seen.statements
    assert view == await env.service.status(ref)
    assert events == await env.store.audit.search(document_id=view.id, limit=40) and events


async def test_a_status_with_its_history_shows_what_the_provider_changed(env: Env) -> None:
    """When the answer is written, the row, amendments and history are read again (once, together)."""
    ref = await issue(env)
    env.popbill.documents[ref] = env.popbill.documents[ref].model_copy(
        update={"state": DocumentState.FILED, "raw_state": "310"})

    with _Statements(env.store.engine.sync_engine) as seen:
        view, events = await env.service.status_with_history(ref, history=40)

    assert view.state is DocumentState.FILED and view.raw_state == "310"
    assert view == await env.service.status(ref, refresh=False)
    assert events == await env.store.audit.search(document_id=view.id, limit=40)
    reads = [s for s in seen.statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) <= 4, reads


async def test_a_status_with_its_history_of_refs_we_do_not_show(env: Env) -> None:
    env.popbill.add_document("EXT-7", state=DocumentState.SENT)

    view, events = await env.service.status_with_history("popbill:EXT-7")

    assert not view.stored and view.state is DocumentState.SENT and events == []
    with pytest.raises(NotFound):
        await env.service.status_with_history("INV-000404")
