"""A client for Marketo's REST API: OAuth client credentials, the calls the workers and the
backfill make, and Marketo's error codes. One client per Marketo instance (munchkin ID), each
call within the instance's ``Limiter``.

* Token: ``POST <identity_url>/oauth/token`` with ``grant_type=client_credentials``, ``client_id``
  and ``client_secret`` as a form body (Marketo accepts GET or POST; a body keeps the secret out
  of URLs and access logs). Cached until 60 s before ``expires_in``.
* Calls send ``Authorization: Bearer <token>`` (Marketo stops accepting the ``access_token``
  query parameter in 2026). Marketo answers most errors with HTTP 200 and
  ``{"success": false, "errors": [{"code", "message"}]}``: 601/602 (token invalid or expired)
  fetch a new token once; 606 (rate) pauses the limiter for a window and is retriable after it;
  607 (daily quota) is ``QuotaExhausted`` until the reset; 615 (concurrency) is retriable after
  a second; 604/608/611/713 (timeout, busy) and HTTP 429/5xx are retriable ``MarketoError``;
  anything else is ``MarketoRejected``.
* At most ``MAX_BATCH`` (300) leads per call, as Marketo allows.
* Reads for the backfill: the instance's activity types, a paging token from a time, pages of
  activities (at most ``MAX_TYPE_IDS`` type ids each) and of deleted leads, and the Bulk Extract
  of activities (``<rest_url without /rest>/bulk``): create, enqueue, status, file (CSV).
"""

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp

from pipeline.marketo.errors import MarketoError, MarketoRejected, QuotaExhausted
from pipeline.marketo.limiter import Limiter
from pipeline.marketo.settings import MarketoInstance

MAX_BATCH = 300
TOKEN_MARGIN_S = 60.0
TOKEN_CODES = frozenset({"601", "602"})
RETRIABLE_CODES = frozenset({"604", "608", "611", "713"})
CONCURRENCY_RETRY_S = 1.0
MAX_TYPE_IDS = 10


@dataclass(frozen=True)
class ActivityPage:
    """One page of a paging run: the activities (possibly none, though more follow), the token
    of the next page, and whether Marketo has more."""

    records: list[Any]
    next_token: str
    more: bool


def _page(doc: dict[str, Any], token: str) -> ActivityPage:
    records = doc.get("result") or []
    next_token = doc.get("nextPageToken")
    return ActivityPage(
        records if isinstance(records, list) else [],
        next_token if isinstance(next_token, str) and next_token else token,
        doc.get("moreResult") is True,
    )


def _first(doc: dict[str, Any], key: str) -> str:
    result = doc.get("result") or [{}]
    value = result[0].get(key) if isinstance(result[0], dict) else None
    if not isinstance(value, str):
        raise MarketoError(f"Marketo's answer has no {key}")
    return value


class MarketoClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        instance: MarketoInstance,
        clock: Callable[[], float] = time.monotonic,
        limiter: Limiter | None = None,
    ) -> None:
        self.instance = instance
        self.limiter = limiter or Limiter(instance, clock=clock)
        self._session = session
        self._clock = clock
        self._token: str | None = None
        self._token_until = 0.0
        self._token_lock = asyncio.Lock()

    async def add_to_list(self, list_id: int, lead_ids: Sequence[int]) -> list[dict[str, Any]]:
        """``POST /rest/v1/lists/{listId}/leads.json``; Marketo's per-lead results."""
        results: list[dict[str, Any]] = []
        for start in range(0, len(lead_ids), MAX_BATCH):
            body = {"input": [{"id": i} for i in lead_ids[start : start + MAX_BATCH]]}
            doc = await self.post(f"/v1/lists/{list_id}/leads.json", body)
            results.extend(doc.get("result") or [])
        return results

    async def sync_leads(self, field: str, values: Mapping[int, float]) -> list[dict[str, Any]]:
        """``POST /rest/v1/leads.json`` (updateOnly, looked up by id): set ``field`` per lead."""
        items = sorted(values.items())
        results: list[dict[str, Any]] = []
        for start in range(0, len(items), MAX_BATCH):
            body = {
                "action": "updateOnly",
                "lookupField": "id",
                "input": [{"id": i, field: v} for i, v in items[start : start + MAX_BATCH]],
            }
            doc = await self.post("/v1/leads.json", body)
            results.extend(doc.get("result") or [])
        return results

    # Write-back beyond lists and fields: Marketo takes at most 100 leads per campaign request.
    MAX_CAMPAIGN_BATCH = 100

    async def remove_from_list(self, list_id: int, lead_ids: Sequence[int]) -> list[dict[str, Any]]:
        """``DELETE /rest/v1/lists/{listId}/leads.json``; a lead not on the list is ``skipped``."""
        results: list[dict[str, Any]] = []
        for start in range(0, len(lead_ids), MAX_BATCH):
            body = {"input": [{"id": i} for i in lead_ids[start : start + MAX_BATCH]]}
            doc = await self._call("DELETE", f"/v1/lists/{list_id}/leads.json", body=body)
            results.extend(doc.get("result") or [])
        return results

    async def request_campaign(
        self, campaign_id: int, lead_ids: Sequence[int], tokens: Mapping[str, str]
    ) -> None:
        """``POST /rest/v1/campaigns/{campaignId}/trigger.json``: run a smart campaign whose
        trigger is "Campaign is Requested, Source: Web Service API" for the leads, with
        ``{{my.name}}`` token values (the same for every lead of the call)."""
        token_list = [{"name": k, "value": v} for k, v in tokens.items()]
        batch = self.MAX_CAMPAIGN_BATCH
        for start in range(0, len(lead_ids), batch):
            leads = [{"id": i} for i in lead_ids[start : start + batch]]
            body: dict[str, Any] = {"input": {"leads": leads, "tokens": token_list}}
            await self.post(f"/v1/campaigns/{campaign_id}/trigger.json", body)

    async def change_program_status(
        self, program_id: int, status: str, lead_ids: Sequence[int]
    ) -> list[dict[str, Any]]:
        """``POST /rest/v1/leads/programs/{programId}/status.json``: the leads' membership status
        in a program (a nurture program, say); Marketo's per-lead results."""
        results: list[dict[str, Any]] = []
        for start in range(0, len(lead_ids), MAX_BATCH):
            body = {
                "status": status,
                "input": [{"id": i} for i in lead_ids[start : start + MAX_BATCH]],
            }
            doc = await self.post(f"/v1/leads/programs/{program_id}/status.json", body)
            results.extend(doc.get("result") or [])
        return results

    async def activity_types(self) -> list[Any]:
        """``GET /rest/v1/activities/types.json``: the instance's own activity types."""
        result = (await self.get("/v1/activities/types.json", {})).get("result")
        return result if isinstance(result, list) else []

    async def paging_token(self, since: datetime) -> str:
        """``GET /rest/v1/activities/pagingtoken.json``: where activities from ``since`` start."""
        params = {"sinceDatetime": since.isoformat().replace("+00:00", "Z")}
        token = (await self.get("/v1/activities/pagingtoken.json", params)).get("nextPageToken")
        if not isinstance(token, str) or not token:
            raise MarketoError("Marketo gave no paging token")
        return token

    async def activities(self, token: str, type_ids: Sequence[int]) -> ActivityPage:
        """``GET /rest/v1/activities.json``: one page (Marketo scans 300 activities of every type
        per page, so a page may hold none of ``type_ids`` and still have more after it)."""
        if not 1 <= len(type_ids) <= MAX_TYPE_IDS:
            raise ValueError(f"1 to {MAX_TYPE_IDS} activity type ids per call, not {len(type_ids)}")
        params = {"nextPageToken": token, "activityTypeIds": ",".join(map(str, type_ids))}
        return _page(await self.get("/v1/activities.json", params), token)

    async def deleted_leads(self, token: str) -> ActivityPage:
        """``GET /rest/v1/activities/deletedleads.json``: one page of Delete Lead activities."""
        doc = await self.get("/v1/activities/deletedleads.json", {"nextPageToken": token})
        return _page(doc, token)

    @property
    def bulk_url(self) -> str:
        return self.instance.rest_url.removesuffix("/rest") + "/bulk"

    async def create_export(
        self, start: datetime, end: datetime, type_ids: Sequence[int] = ()
    ) -> str:
        """``POST /bulk/v1/activities/export/create.json`` over ``createdAt`` [start, end] (at most
        31 days): the export id."""
        window = {"startAt": start.isoformat(), "endAt": end.isoformat()}
        filters: dict[str, Any] = {"createdAt": window}
        if type_ids:
            filters["activityTypeIds"] = list(type_ids)
        body = {"format": "CSV", "filter": filters}
        path = "/v1/activities/export/create.json"
        return _first(await self._call("POST", path, body=body, base=self.bulk_url), "exportId")

    async def enqueue_export(self, export_id: str) -> str:
        path = f"/v1/activities/export/{export_id}/enqueue.json"
        return _first(await self._call("POST", path, body={}, base=self.bulk_url), "status")

    async def export_status(self, export_id: str) -> str:
        """``Created``, ``Queued``, ``Processing``, ``Completed``, ``Cancelled`` or ``Failed``."""
        path = f"/v1/activities/export/{export_id}/status.json"
        return _first(await self._call("GET", path, params={}, base=self.bulk_url), "status")

    async def export_file(self, export_id: str) -> str:
        """The completed export's CSV."""
        url = f"{self.bulk_url}/v1/activities/export/{export_id}/file.json"
        token = await self._access_token()
        async with self.limiter.call():
            try:
                async with self._session.get(
                    url,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=aiohttp.ClientTimeout(total=self.instance.timeout_s),
                ) as resp:
                    text = await resp.text()
                    status, kind = resp.status, resp.content_type
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise MarketoError(f"Marketo did not answer the export file: {exc!r}") from exc
        if status != 200 or kind == "application/json":
            raise MarketoError(f"Marketo answered the export file with {status}: {text[:200]}")
        return text

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /rest<path>`` with a JSON body; Marketo's answer when ``success`` is true."""
        return await self._call("POST", path, body=body)

    async def get(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        """``GET /rest<path>?<params>``; Marketo's answer when ``success`` is true."""
        return await self._call("GET", path, params=params)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        base: str | None = None,
    ) -> dict[str, Any]:
        for _ in range(2):  # a second time only with a fresh token
            token = await self._access_token()
            async with self.limiter.call():
                doc = await self._request(method, path, token, body, params, base)
            if doc.get("success") is True:
                return doc
            errors = [e for e in doc.get("errors") or [] if isinstance(e, dict)]
            codes = {str(e.get("code", "")) for e in errors}
            message = "; ".join(f"{e.get('code')} {e.get('message')}" for e in errors)
            if TOKEN_CODES & codes:
                self._token = None
                continue
            raise self._error(path, codes, message or str(doc))
        raise MarketoError("Marketo refused two fresh access tokens", "601")

    def _error(self, path: str, codes: set[str], message: str) -> MarketoError:
        if "607" in codes:
            self.limiter.quota_spent()
            return QuotaExhausted(
                f"Marketo's daily quota is spent: {message}",
                "607",
                retry_after_s=self.limiter.seconds_until_reset(),
            )
        if "606" in codes:
            self.limiter.too_fast()
            return MarketoError(
                f"Marketo's rate limit: {message}", "606", retry_after_s=self.limiter.backoff_s
            )
        if "615" in codes:
            return MarketoError(
                f"Marketo's concurrency limit: {message}", "615", CONCURRENCY_RETRY_S
            )
        if RETRIABLE_CODES & codes:
            return MarketoError(f"Marketo is busy: {message}", min(RETRIABLE_CODES & codes))
        return MarketoRejected(f"Marketo refused {path}: {message}", min(codes, default=""))

    async def _request(
        self,
        method: str,
        path: str,
        token: str,
        body: dict[str, Any] | None,
        params: Mapping[str, str] | None,
        base: str | None = None,
    ) -> dict[str, Any]:
        url = (base or self.instance.rest_url) + path
        try:
            async with self._session.request(
                method,
                url,
                json=body,
                params=params,
                headers={"Authorization": f"Bearer {token}"},
                timeout=aiohttp.ClientTimeout(total=self.instance.timeout_s),
                allow_redirects=False,
            ) as resp:
                if resp.status == 401:
                    return {"success": False, "errors": [{"code": "601", "message": "HTTP 401"}]}
                if resp.status == 429 or resp.status >= 500:
                    raise MarketoError(
                        f"Marketo answered HTTP {resp.status} to {path}", str(resp.status)
                    )
                if resp.status >= 400:
                    raise MarketoRejected(
                        f"Marketo answered HTTP {resp.status} to {path}", str(resp.status)
                    )
                doc = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise MarketoError(f"Marketo did not answer {path}: {type(exc).__name__}") from exc
        if not isinstance(doc, dict):
            raise MarketoError(f"Marketo answered {path} with {type(doc).__name__}, not an object")
        return doc

    async def _access_token(self) -> str:
        async with self._token_lock:
            if self._token is not None and self._clock() < self._token_until:
                return self._token
            form = {
                "grant_type": "client_credentials",
                "client_id": self.instance.client_id,
                "client_secret": self.instance.client_secret.reveal(),
            }
            try:
                async with self._session.post(
                    self.instance.identity_url + "/oauth/token",
                    data=form,
                    timeout=aiohttp.ClientTimeout(total=self.instance.timeout_s),
                ) as resp:
                    if resp.status == 429 or resp.status >= 500:
                        raise MarketoError(f"Marketo identity answered HTTP {resp.status}")
                    doc = await resp.json(content_type=None)
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise MarketoError(
                    f"Marketo identity did not answer: {type(exc).__name__}"
                ) from exc
            token = doc.get("access_token") if isinstance(doc, dict) else None
            if status != 200 or not isinstance(token, str) or not token:
                error = (
                    doc.get("error_description") or doc.get("error")
                    if isinstance(doc, dict)
                    else doc
                )
                raise MarketoRejected(
                    f"Marketo refused the client credentials: HTTP {status} {error}"
                )
            expires_in = doc.get("expires_in", 3600)
            lifetime = float(expires_in) if isinstance(expires_in, int | float) else 3600.0
            self._token = token
            self._token_until = self._clock() + max(0.0, lifetime - TOKEN_MARGIN_S)
            return token
