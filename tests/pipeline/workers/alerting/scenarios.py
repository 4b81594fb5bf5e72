"""Scenarios for the default rules (deploy/workers/alert-rules.toml): what must fire and the
near-misses that must not. Every scenario uses its own keys, so all can run in one pass."""

from dataclasses import dataclass

from pipeline.envelope import Envelope
from tests.pipeline.events import MUNCHKIN, T0, audit, lead, notification

MINUTE = 60.0
HOUR = 3600.0


@dataclass(frozen=True)
class Scenario:
    name: str
    events: list[Envelope]
    fires: set[tuple[str, str]]  # (rule, alert key)


def _logins(
    user: str, minutes: list[float], action: str = "login failure", cid: int = 7
) -> list[Envelope]:
    return [
        audit("Login", action, user=user, component_id=cid, at_s=T0 + m * MINUTE) for m in minutes
    ]


def default_rule_scenarios() -> list[Scenario]:
    m = MUNCHKIN
    admin_user = audit("User", "create", component_id=501)
    admin_role = audit("Role", "edit", component_id=502)
    ab = notification("test_group", {"testName": "Subject lines"}, subject="ab-1")
    return [
        Scenario(
            "campaign aborted",
            [notification("campaign_abort", {"campaignId": 1001, "userId": "ops@example.com"})],
            {("campaign-aborted", f"{m}:1001")},
        ),
        Scenario(
            "nurture exhausted is not an abort",
            [notification("nurture", {"campaignId": 1002})],
            set(),
        ),
        Scenario(
            "campaign failed",
            [notification("campaign_failure", {"campaignId": 2001})],
            {("campaign-failed", f"{m}:2001")},
        ),
        Scenario(
            "salesforce sync failed",
            [
                notification(
                    "salesforce_sync_failure",
                    {"error": "INVALID_SESSION_ID"},
                    munchkin="111-SFA-111",
                )
            ],
            {("salesforce-sync-failed", "111-SFA-111")},
        ),
        Scenario(
            "quota at 80 %",
            [
                notification(
                    "web_services", {"dailyQuota": 50000, "percent": 80}, munchkin="111-QHI-111"
                )
            ],
            {("web-services-quota-high", "111-QHI-111")},
        ),
        Scenario(
            "quota at 79 % is a near-miss",
            [
                notification(
                    "web_services", {"dailyQuota": 50000, "percent": 79}, munchkin="111-QLO-111"
                )
            ],
            set(),
        ),
        Scenario(
            "quota exhausted",
            [
                notification(
                    "web_services", {"dailyQuota": 50000, "percent": 100}, munchkin="111-QEX-111"
                )
            ],
            {("web-services-quota-exhausted", "111-QEX-111")},
        ),
        Scenario("A/B test result", [ab], {("ab-test-result", f"{m}:ab-1:{ab.id}")}),
        Scenario(
            "5 failed logins in 10 minutes (a 6th within the cooldown adds nothing)",
            _logins("burst@example.com", [0, 1, 2, 3, 4, 5]),
            {("failed-login-burst", f"{m}:burst@example.com")},
        ),
        Scenario("4 failed logins", _logins("four@example.com", [0, 1, 2, 3], cid=8), set()),
        Scenario(
            "5 failed logins over 12 minutes",
            _logins("slow@example.com", [0, 3, 6, 9, 12], cid=9),
            set(),
        ),
        Scenario(
            "6 successful logins",
            _logins("fine@example.com", [0, 1, 2, 3, 4, 5], "login success", cid=10),
            set(),
        ),
        Scenario(
            "admin changes to users and roles",
            [admin_user, admin_role],
            {
                ("admin-change", f"{m}:user.create:501:{admin_user.id}"),
                ("admin-change", f"{m}:role.edit:502:{admin_role.id}"),
            },
        ),
        Scenario(
            "approving an email is no admin change",
            [audit("Email", "approve", component_id=503)],
            set(),
        ),
        Scenario(
            "unsubscribed, then sent an email",
            [lead(9, "101", at_s=T0), lead(6, "101", at_s=T0 + HOUR)],
            {("unsubscribed-then-emailed", f"{m}:101")},
        ),
        Scenario(
            "sent an email, then unsubscribed",
            [lead(6, "102", at_s=T0), lead(9, "102", at_s=T0 + HOUR)],
            set(),
        ),
        Scenario(
            "unsubscribed, then opened an email",
            [lead(9, "103", at_s=T0), lead(10, "103", at_s=T0 + HOUR)],
            set(),
        ),
        Scenario(
            "hard bounce, then delivered",
            [lead(8, "104", at_s=T0), lead(7, "104", at_s=T0 + HOUR)],
            {("bounced-then-delivered", f"{m}:104")},
        ),
        Scenario(
            "soft bounce, then delivered",
            [lead(27, "105", at_s=T0), lead(7, "105", at_s=T0 + HOUR)],
            set(),
        ),
        Scenario(
            "delivered, then hard bounce",
            [lead(7, "106", at_s=T0), lead(8, "106", at_s=T0 + HOUR)],
            set(),
        ),
        Scenario(
            "score jumps by +50",
            [lead(22, "107", attributes={"Change Value": "+50", "New Value": "75"})],
            {("large-score-change", f"{m}:107")},
        ),
        Scenario(
            "score drops by 60",
            [lead(22, "108", attributes={"Change Value": "-60", "New Value": "5"})],
            {("large-score-change", f"{m}:108")},
        ),
        Scenario("score moves by 49", [lead(22, "109", attributes={"Change Value": "+49"})], set()),
    ]
