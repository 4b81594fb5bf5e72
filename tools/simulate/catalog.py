"""What Marketo can send: activity types with their attributes, audit components with their
actions, and notification kinds (docs/protocol.md).

Attribute names come from docs/protocol.md where it lists them (a Jan 2025 doc version); the other
types get a plausible set of the same family. An attribute is ``(name, dataType, kind)``; the
kind tells ``events.py`` how to make a value.
"""

from dataclasses import dataclass

from pipeline.activity_types import standard_names

Attribute = tuple[str, str, str]

WEB: tuple[Attribute, ...] = (
    ("Client IP Address", "string", "ip"),
    ("Query Parameters", "string", "query"),
    ("Referrer URL", "string", "url"),
    ("User Agent", "string", "ua"),
    ("Webpage ID", "object", "asset"),
)
EMAIL: tuple[Attribute, ...] = (
    ("Campaign Run ID", "integer", "int"),
    ("Mailing ID", "object", "asset"),
)
SALES_EMAIL: tuple[Attribute, ...] = (
    ("Artifact ID", "integer", "int"),
    ("Source", "string", "source"),
)
SFDC: tuple[Attribute, ...] = (
    ("SFDC Type", "string", "sfdc"),
    ("Assign To", "string", "email"),
)
PROGRAM: tuple[Attribute, ...] = (
    ("Program ID", "object", "asset"),
    ("Reason", "string", "reason"),
)
SOCIAL: tuple[Attribute, ...] = (
    ("Social App ID", "integer", "int"),
    ("Social Network", "string", "network"),
)

# activity type id → (primary attribute kind, attributes)
ATTRIBUTES: dict[int, tuple[str, tuple[Attribute, ...]]] = {
    1: ("page", (*WEB, ("Webpage URL", "string", "url"))),
    2: ("form", (*WEB, ("Form Fields", "string", "form_fields"))),
    3: ("link", (("Link ID", "integer", "int"), *WEB)),
    6: ("email", (*EMAIL, ("Step ID", "integer", "int"))),
    7: ("email", (*EMAIL, ("Choice Number", "integer", "small"))),
    8: (
        "email",
        (
            ("Category", "string", "bounce"),
            ("Subcategory", "string", "bounce"),
            ("Email", "string", "email"),
            ("Details", "string", "reason"),
            ("Mailing ID", "object", "asset"),
        ),
    ),
    9: ("email", (*EMAIL, ("Client IP Address", "string", "ip"))),
    10: (
        "email",
        (
            *EMAIL,
            ("Platform", "string", "platform"),
            ("Device", "string", "device"),
            ("User Agent", "string", "ua"),
            ("Is Mobile Device", "boolean", "bool"),
        ),
    ),
    11: ("email", (*EMAIL, ("Link", "string", "url"))),
    12: ("list", (("Created Date", "string", "date"), ("Source Type", "string", "source"))),
    13: (
        "field",
        (
            ("Attribute Name", "string", "field"),
            ("Old Value", "string", "title"),
            ("New Value", "string", "title"),
            ("Reason", "string", "reason"),
            ("Source", "string", "source"),
            ("Campaign", "string", "campaign"),
            ("Channel", "string", "channel"),
        ),
    ),
    22: (
        "score",
        (
            ("Change Value", "string", "score_delta"),
            ("Old Value", "integer", "int"),
            ("New Value", "integer", "int"),
            ("Reason", "string", "reason"),
            ("Score Name", "string", "score"),
        ),
    ),
    24: ("list", (("List ID", "integer", "int"), ("Campaign", "string", "campaign"))),
    25: (
        "list",
        (
            ("List ID", "integer", "int"),
            ("Campaign", "string", "campaign"),
            ("Channel", "string", "channel"),
        ),
    ),
    32: ("lead", (("Merge IDs", "string", "merge_ids"), ("Merge Fields", "string", "field"))),
    37: ("lead", ()),
    46: (
        "moment",
        (("Source", "string", "source"), ("Date", "string", "date"), ("Type", "string", "moment")),
    ),
    104: (
        "program",
        (
            ("Acquired By", "boolean", "bool"),
            ("Old Status", "string", "status"),
            ("Old Status ID", "integer", "small"),
            ("New Status", "string", "status"),
            ("New Status ID", "integer", "small"),
            ("Success", "boolean", "bool"),
            ("Program ID", "object", "asset"),
        ),
    ),
    108: ("segment", (("New Segment ID", "integer", "int"), ("Segmentation ID", "integer", "int"))),
}

FAMILIES: tuple[tuple[tuple[str, ...], str, tuple[Attribute, ...]], ...] = (
    (("Sales Email",), "email", SALES_EMAIL),
    (("Email",), "email", EMAIL),
    (("SFDC", "Microsoft", "Opportunity"), "crm", SFDC),
    (("Nurture", "Program", "Revenue", "Partition", "Campaign"), "program", PROGRAM),
    (("Form",), "form", WEB),
    (("Click", "Share", "Webhook"), "link", WEB[:4]),
    (("Social", "Referral", "Sweepstakes", "Poll"), "social", SOCIAL),
)
DEFAULT_FAMILY: tuple[str, tuple[Attribute, ...]] = ("lead", (("Source", "string", "source"),))


@dataclass(frozen=True)
class ActivityType:
    id: int
    name: str
    primary: str
    attributes: tuple[Attribute, ...]

    @property
    def custom(self) -> bool:
        return self.id >= CUSTOM_ID_MIN


CUSTOM_ID_MIN = 100_000
CUSTOM_TYPES: tuple[ActivityType, ...] = (
    ActivityType(
        100_004,
        "Product Trial Started",
        "plan",
        (("Trial Length Days", "integer", "small"), ("Plan", "string", "plan")),
    ),
    ActivityType(
        100_017,
        "Webinar Attended",
        "title",
        (("Minutes Watched", "integer", "small"), ("Asked Question", "boolean", "bool")),
    ),
    ActivityType(
        104_311,
        "Support Ticket Opened",
        "title",
        (("Ticket ID", "integer", "int"), ("Priority", "string", "priority")),
    ),
)


def _family(name: str) -> tuple[str, tuple[Attribute, ...]]:
    for words, primary, attributes in FAMILIES:
        if any(word in name for word in words):
            return primary, attributes
    return DEFAULT_FAMILY


def activity_types() -> tuple[ActivityType, ...]:
    """Every activity type of the table shipped with the pipeline, then a few custom ones."""
    out = []
    for type_id, name in sorted(standard_names().items()):
        primary, attributes = ATTRIBUTES.get(type_id) or _family(name)
        out.append(ActivityType(type_id, name, primary, attributes))
    return (*out, *CUSTOM_TYPES)


AUDIT_COMPONENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    # component name → (type suffix, actions); docs/protocol.md
    "Default Program": ("defaultprogram", ("create", "clone", "delete", "modify program token")),
    "Email": ("email", ("approve", "unapprove", "draftCreate", "draftDiscard", "edit")),
    "Email Batch Program": ("emailbatchprogram", ("create", "activate", "abort")),
    "Email Template": ("emailtemplate", ("approve", "clone")),
    "Engagement Program": ("engagementprogram", ("create", "activate", "deactivate")),
    "Event Program": ("eventprogram", ("create", "rename")),
    "Folder": ("folder", ("create", "move", "rename")),
    "Form": ("form", ("approve", "edit")),
    "Landing Page": ("landingpage", ("approve", "unapprove")),
    "Landing Page Template": ("landingpagetemplate", ("approve",)),
    "List": ("list", ("create", "export")),
    "Marketing Folder": ("marketingfolder", ("create",)),
    "Nurture Program": ("nurtureprogram", ("create",)),
    "Segment": ("segment", ("create",)),
    "Segmentation": ("segmentation", ("approve",)),
    "Smart Campaign": ("smartcampaign", ("activate", "deactivate", "abort")),
    "Smart List": ("smartlist", ("edit",)),
    "Snippet": ("snippet", ("approve",)),
    "Login": ("login", ("login success", "login failure")),
    "Role": ("role", ("create", "edit", "delete")),
    "User": ("user", ("create", "delete", "edit")),
}

AUDIT_PAIRS: tuple[tuple[str, str], ...] = tuple(
    (component, action)
    for component, (_, actions) in AUDIT_COMPONENTS.items()
    for action in actions
)

# notification kind → data fields other than munchkinId/imsOrgId; docs/protocol.md (only
# web_services and campaign_abort are documented; the other shapes are UNCONFIRMED guesses)
NOTIFICATIONS: dict[str, dict[str, object]] = {
    "web_services": {
        "componentType": "web_services",
        "subType": "dailyQuota",
        "eventAction": {"dailyQuota": 50000, "percent": 80, "serviceNames": ["CRM Sync Service"]},
    },
    "campaign_abort": {
        "componentType": "campaign_abort",
        "subType": "user_campaign_abort",
        "eventAction": {"campaignId": 40512, "userId": "ops.admin@example.com"},
    },
    "campaign_failure": {
        "componentType": "campaign_failure",
        "subType": "campaign_failure",
        "eventAction": {"campaignId": 40513},
    },
    "nurture": {"componentType": "nurture", "subType": "program_exhausted", "eventAction": {}},
    "salesforce_sync_failure": {
        "componentType": "salesforce_sync",
        "subType": "sync_failure",
        "eventAction": {"error": "INVALID_SESSION_ID"},
    },
    "test_group": {"componentType": "test_group", "subType": "ab_test_result", "eventAction": {}},
}
