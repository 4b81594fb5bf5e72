"""Marketo's Bulk Extract of activities for a simulated instance (docs/protocol.md): create a job
over a ``createdAt`` range of at most 31 days (and optional ``activityTypeIds``), enqueue it,
poll its status until ``Completed``, then download the CSV. A job completes after ``polls``
status calls.

The CSV has Marketo's activity export columns: ``marketoGUID, leadId, activityDate,
activityTypeId, campaignId, primaryAttributeValueId, primaryAttributeValue, attributes`` (a JSON
object of attribute name to value). It has no activity log item id.
"""

import csv
import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from pipeline.config import DAYS
from tools.simulate.upstream import Upstream

MAX_RANGE_S = 31 * DAYS
COLUMNS = (
    "marketoGUID",
    "leadId",
    "activityDate",
    "activityTypeId",
    "campaignId",
    "primaryAttributeValueId",
    "primaryAttributeValue",
    "attributes",
)


@dataclass
class Job:
    munchkin: str
    start: float
    end: float
    type_ids: frozenset[int]
    status: str = "Created"
    polls: int = 0


def _fail(code: str, message: str) -> web.Response:
    errors = [{"code": code, "message": message}]
    return web.json_response({"requestId": "sim", "success": False, "errors": errors})


def _epoch(value: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class BulkJobs:
    def __init__(self, upstream: Upstream, polls: int) -> None:
        self.upstream = upstream
        self.polls = polls
        self.jobs: dict[str, Job] = {}
        self._ids = itertools.count(1)

    def add_routes(self, router: web.UrlDispatcher, limited: Callable[[Any], Any]) -> None:
        base = "/{munchkin}/bulk/v1/activities/export"
        router.add_post(f"{base}/create.json", limited(self.create))
        router.add_post(f"{base}/{{job}}/enqueue.json", limited(self.enqueue))
        router.add_get(f"{base}/{{job}}/status.json", limited(self.status))
        router.add_get(f"{base}/{{job}}/file.json", limited(self.file))

    def _answer(self, job_id: str, job: Job, **extra: Any) -> web.Response:
        result = [{"exportId": job_id, "format": "CSV", "status": job.status, **extra}]
        return web.json_response({"requestId": "sim", "success": True, "result": result})

    async def create(self, request: web.Request, munchkin: str) -> web.Response:
        doc = orjson.loads(await request.read() or b"{}")
        filters = doc.get("filter") or {}
        created = filters.get("createdAt") or {}
        start, end = _epoch(created.get("startAt")), _epoch(created.get("endAt"))
        if start is None or end is None or not 0 <= end - start <= MAX_RANGE_S:
            return _fail("1003", "createdAt needs startAt and endAt at most 31 days apart")
        types = frozenset(int(i) for i in filters.get("activityTypeIds") or ())
        job_id = f"export-{next(self._ids)}"
        self.jobs[job_id] = Job(munchkin, start, end, types)
        return self._answer(job_id, self.jobs[job_id])

    def _job(self, request: web.Request, munchkin: str) -> tuple[str, Job] | web.Response:
        job_id = request.match_info["job"]
        job = self.jobs.get(job_id)
        if job is None or job.munchkin != munchkin:
            return _fail("1029", f"export {job_id} not found")
        return job_id, job

    async def enqueue(self, request: web.Request, munchkin: str) -> web.Response:
        found = self._job(request, munchkin)
        if isinstance(found, web.Response):
            return found
        job_id, job = found
        job.status = "Queued"
        return self._answer(job_id, job)

    async def status(self, request: web.Request, munchkin: str) -> web.Response:
        found = self._job(request, munchkin)
        if isinstance(found, web.Response):
            return found
        job_id, job = found
        if job.status in ("Queued", "Processing"):
            job.polls += 1
            job.status = "Completed" if job.polls >= self.polls else "Processing"
        return self._answer(job_id, job, numberOfRecords=len(self._rows(job)))

    async def file(self, request: web.Request, munchkin: str) -> web.StreamResponse:
        found = self._job(request, munchkin)
        if isinstance(found, web.Response):
            return found
        _, job = found
        if job.status != "Completed":
            return _fail("1029", "export not completed")
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        writer.writerows(self._rows(job))
        return web.Response(text=out.getvalue(), content_type="text/csv")

    def _rows(self, job: Job) -> list[list[Any]]:
        rows = []
        for logged in self.upstream.logs[job.munchkin]:
            record = logged.record
            wanted = not job.type_ids or record["activityTypeId"] in job.type_ids
            if job.start <= logged.at < job.end and wanted:
                attributes = {a["name"]: a["value"] for a in record["attributes"]}
                row = {**record, "attributes": orjson.dumps(attributes).decode()}
                rows.append(["" if row.get(c) is None else row[c] for c in COLUMNS])
        return rows
