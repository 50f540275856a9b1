"""functions.completeSuccess / completeError: how a custom step execution ends, as Slack answers."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.console.slack_double import SlackWebApiDouble


async def test_an_execution_completes_once_with_its_own_token(double: SlackWebApiDouble,
                                                              client: AsyncWebClient) -> None:
    execution_id, token = double.start_function()
    own = AsyncWebClient(token=token, base_url=double.base_url)
    await own.functions_completeSuccess(function_execution_id=execution_id, outputs={"reference": "INV-000001"})
    done = double.functions.completion(execution_id)
    assert done is not None and done.ok and done.own_token and done.outputs == {"reference": "INV-000001"}
    with pytest.raises(SlackApiError) as again:
        await client.functions_completeError(function_execution_id=execution_id, error="late")
    assert again.value.response["error"] == "execution_not_in_running_state"
    with pytest.raises(SlackApiError) as spent:  # the token ends with the execution
        await own.chat_postMessage(channel="C1", text="hi")
    assert spent.value.response["error"] == "invalid_auth"


async def test_errors_are_recorded_and_unknown_executions_refused(double: SlackWebApiDouble,
                                                                  client: AsyncWebClient) -> None:
    execution_id, _ = double.start_function()
    with pytest.raises(SlackApiError) as empty:
        await client.functions_completeError(function_execution_id=execution_id, error=" ")
    assert empty.value.response["error"] == "invalid_arguments"
    await client.functions_completeError(function_execution_id=execution_id, error="rejected")
    done = double.functions.completion(execution_id)
    assert done is not None and not done.ok and done.error == "rejected" and not done.own_token
    with pytest.raises(SlackApiError) as unknown:
        await client.functions_completeSuccess(function_execution_id="Fx404", outputs={})
    assert unknown.value.response["error"] == "function_execution_not_found"
    assert [c.method for c in double.calls()][-1] == "functions.completeSuccess"
