import orjson
import pytest

from ingest.errors import MalformedJson, UnusableInput
from ingest.parse import adobe_items, decode_json, direct_push, validation_url
from tests.support import payloads as p


def test_single_flat_event_is_one_item_with_ids() -> None:
    event = p.lads_event()
    [item] = adobe_items(event)
    assert item.cloudevent is event
    assert item.adobe_event_id == event["eventid"]
    assert item.recipient == p.CLIENT_ID


def test_batch_array_gives_one_item_per_element() -> None:
    items = adobe_items([p.lads_event(), p.wrapped(p.audit_body("Email", "approve"))])
    assert len(items) == 2


@pytest.mark.parametrize("shape", ["body", "inner", "old"])
def test_wrapped_shapes_find_the_cloudevent_and_recipient(shape: str) -> None:
    body = p.audit_body("Email", "approve")
    element = p.wrapped(body, shape=shape)
    [item] = adobe_items(element)
    assert item.cloudevent == body
    assert item.recipient == p.CLIENT_ID
    assert item.adobe_event_id == (element.get("eventid") or element.get("event_id"))


def test_old_field_names_are_read() -> None:
    event = p.lads_event(old_names=True)
    [item] = adobe_items(event)
    assert item.adobe_event_id == event["event_id"]
    assert item.recipient == p.CLIENT_ID


def test_non_object_element_keeps_raw_and_has_no_cloudevent() -> None:
    [item] = adobe_items([42])
    assert item.cloudevent is None
    assert item.raw == 42


@pytest.mark.parametrize("doc", [42, "text", None, 1.5])
def test_delivery_must_be_object_or_array(doc: object) -> None:
    with pytest.raises(UnusableInput) as info:
        adobe_items(doc)
    assert info.value.reason == "invalid_delivery"


def test_malformed_json_names_the_position() -> None:
    with pytest.raises(MalformedJson) as info:
        decode_json(b'{"a": 1,\n "b": }')
    assert "line 2" in info.value.detail


def test_validation_url_only_when_it_is_the_only_key() -> None:
    url = "https://csm.adobe.io/csm/registrations/validate?id=1&challenge=2"
    assert validation_url({"validationUrl": url}) == url
    assert validation_url({"validationUrl": url, "x": 1}) is None
    assert validation_url([{"validationUrl": url}]) is None


def test_direct_push_object_and_bare_array() -> None:
    activities = [p.activity(), p.activity()]
    push = direct_push(p.direct_push(activities))
    assert push.munchkin_id == p.MUNCHKIN
    assert push.message_id == "99871"
    assert push.activities == activities
    bare = direct_push(orjson.loads(orjson.dumps(activities)))
    assert bare.munchkin_id is None
    assert bare.activities == activities


@pytest.mark.parametrize(
    "doc",
    [{"munchkinId": "x"}, {"activities": {}}, {"activities": [], "munchkinId": 5}, "x"],
)
def test_direct_push_rejects_wrong_shapes(doc: object) -> None:
    with pytest.raises(UnusableInput):
        direct_push(doc)
