"""One HTTP server for the upstreams' pull side: Adobe IMS and the journals, Marketo's identity,
REST and bulk APIs, all over the same ``Upstream`` the simulator fills."""

from dataclasses import dataclass, field

from aiohttp import web

from tools.simulate.journal_api import IMS_PATH, JournalApi, journal_url
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


def recovery_toml(apis: UpstreamApis, base_url: str) -> str:
    """The ``[[journal]]`` and ``[[marketo]]`` tables that let the recovery commands read these
    upstreams (test credentials only)."""
    lines = []
    for tenant in apis.upstream.tenants.values():
        lines += [
            "[[journal]]",
            f'name = "reg-{tenant.munchkin_id}"',
            f'url = "{apis.journal_url(base_url, tenant)}"',
            f'org_id = "{tenant.ims_org}"',
            f'client_id = "{tenant.client_id}"',
            f'client_secret = "{tenant.client_secret}"',
            f'ims_url = "{base_url.rstrip("/")}{IMS_PATH}"',
            "[[marketo]]",
            f'munchkin_id = "{tenant.munchkin_id}"',
            f'identity_url = "{identity_url(base_url, tenant)}"',
            f'rest_url = "{rest_url(base_url, tenant)}"',
            f'client_id = "{tenant.rest_client_id}"',
            f'client_secret = "{tenant.rest_client_secret}"',
        ]
    return "\n".join(lines) + "\n"


def rest_url(base_url: str, tenant: SimTenant) -> str:
    return f"{base_url.rstrip('/')}/{tenant.munchkin_id}/rest"


def identity_url(base_url: str, tenant: SimTenant) -> str:
    return f"{base_url.rstrip('/')}/{tenant.munchkin_id}/identity"
