"""One HTTP server for the upstreams' pull side: Adobe IMS and the journals, Marketo's identity,
REST and bulk APIs, all over the same ``Upstream`` the simulator fills."""

from dataclasses import dataclass, field

from aiohttp import web

from tools.simulate.journal_api import JournalApi, journal_url
from tools.simulate.marketo_api import MarketoApi
from tools.simulate.tenants import SimTenant
from tools.simulate.upstream import Upstream


@dataclass
class UpstreamApis:
    upstream: Upstream
    journal: JournalApi = field(init=False)
    marketo: MarketoApi = field(init=False)

    def __post_init__(self) -> None:
        self.journal = JournalApi(self.upstream)
        self.marketo = MarketoApi(self.upstream)

    def app(self) -> web.Application:
        app = web.Application()
        self.journal.add_routes(app)
        self.marketo.add_routes(app)
        return app

    def journal_url(self, base_url: str, tenant: SimTenant) -> str:
        return journal_url(base_url, self.upstream.journals[tenant.client_id])


def rest_url(base_url: str, tenant: SimTenant) -> str:
    return f"{base_url.rstrip('/')}/{tenant.munchkin_id}/rest"


def identity_url(base_url: str, tenant: SimTenant) -> str:
    return f"{base_url.rstrip('/')}/{tenant.munchkin_id}/identity"
