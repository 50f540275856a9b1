"""Popbill business status check (휴폐업조회, CloseDown) API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from providers.errors import RequestInvalid
from providers.popbill._auth import PROVIDER
from providers.popbill._base import MAX_BATCH, PopbillClientBase, chunks, validate_corp_num

__all__ = ["CloseDownClient"]


class CloseDownClient(PopbillClientBase):
    """The `/CloseDown` API (LinkHub scope 170). Answers are CorpState objects:
    ``corpNum, taxType, typeDate, state, stateDate, checkDate`` (strings, null when unknown)."""

    scope = ("member", "170")

    async def check_corp_num(self, check_corp_num: str) -> dict[str, Any]:
        data = await self._get(f"/CloseDown?CN={validate_corp_num(check_corp_num)}", operation="checkCorpNum")
        return self._expect_dict(data, "checkCorpNum")

    async def check_corp_nums(self, corp_nums: Sequence[str]) -> list[dict[str, Any]]:
        """CorpState of many numbers, 1,000 per call (larger lists are split here)."""
        if not corp_nums:
            raise RequestInvalid("checkCorpNums needs at least one business number", provider=PROVIDER,
                                 code="corp_nums")
        numbers = [validate_corp_num(n) for n in corp_nums]
        results: list[dict[str, Any]] = []
        for batch in chunks(numbers, MAX_BATCH):
            data = await self._request("POST", "/CloseDown", operation="checkCorpNums", body=batch)
            results.extend(self._expect_list(data, "checkCorpNums"))
        return results
