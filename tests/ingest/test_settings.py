import pytest

from ingest.secrets import ApiToken
from ingest.settings import load_settings, parse_settings
from pipeline.errors import ConfigError

ISSUE_EXAMPLE = """
[kafka]
bootstrap_servers = "127.0.0.1:9092"
[adobe_io]
public_key_base_url = "https://static.adobeioevents.com"   # tests point it at a local server
[[tenants]]
munchkin_id = "123-ABC-456"
api_tokens = ["a-long-random-token"]   # direct Lead Activity push
adobe_client_id = "0123456789abcdef"   # recipient client id of the Adobe I/O registration
"""


def test_the_documented_example_works_as_written(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.toml"
    path.write_text(ISSUE_EXAMPLE)
    s = load_settings({"DATASTREAMS_CONFIG": str(path)})
    assert s.kafka.bootstrap_servers == "127.0.0.1:9092"
    assert s.adobe_io.public_key_base_url == "https://static.adobeioevents.com"
    [tenant] = s.tenants
    assert tenant.munchkin_id == "123-ABC-456"
    assert tenant.api_tokens == (ApiToken.from_plain("a-long-random-token"),)
    assert tenant.adobe_client_id == "0123456789abcdef"
    assert (s.server.host, s.server.port) == ("0.0.0.0", 8080)


def test_environment_overrides(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.toml"
    path.write_text(ISSUE_EXAMPLE)
    s = load_settings(
        {
            "DATASTREAMS_CONFIG": str(path),
            "KAFKA_BOOTSTRAP_SERVERS": "10.0.0.1:9093",
            "DATASTREAMS_HOST": "127.0.0.1",
            "DATASTREAMS_PORT": "9000",
            "DATASTREAMS_TOPIC_PREFIX": "acme",
        }
    )
    assert s.kafka.bootstrap_servers == "10.0.0.1:9093"
    assert (s.server.host, s.server.port) == ("127.0.0.1", 9000)
    assert s.topics.prefix == "acme"


def test_defaults_without_a_file() -> None:
    s = load_settings({})
    assert s.tenants == ()
    assert s.topics.retention_hours >= 7 * 24
    assert s.kafka.publish_timeout_s == 5.0


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"kafka": {"bootstrap": "x"}}, "unknown key"),
        ({"kafka": {"publish_timeout_seconds": "5"}}, "kafka.publish_timeout_seconds"),
        ({"topics": {"partitions": 0}}, "topics.partitions"),
        ({"topics": {"partitions": True}}, "topics.partitions"),
        ({"tenants": [{"api_tokens": ["x" * 20]}]}, "munchkin_id"),
        ({"tenants": [{"munchkin_id": "a", "api_tokens": ["short"]}]}, "16 characters"),
        (
            {"tenants": [{"munchkin_id": "a"}, {"munchkin_id": "a"}]},
            "more than once",
        ),
        ({"adobe_io": {"key_cache_ttl_seconds": 90000}}, "86400"),
        ({"kafka": {"compression_type": "brotli"}}, "Expected one of"),
        ({"nonsense": {}}, "unknown section"),
    ],
)
def test_config_errors_name_key_and_value(doc: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError, match=message):
        parse_settings(doc, {})


def test_bad_port_env() -> None:
    with pytest.raises(ConfigError, match="DATASTREAMS_PORT"):
        load_settings({"DATASTREAMS_PORT": "eighty"})


def test_missing_or_invalid_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings({"DATASTREAMS_CONFIG": str(tmp_path / "none.toml")})
    bad = tmp_path / "bad.toml"
    bad.write_text("[kafka\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings({"DATASTREAMS_CONFIG": str(bad)})
