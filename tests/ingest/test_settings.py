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


def test_the_documented_example_works_as_written(tmp_path) -> None:
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


def test_environment_overrides(tmp_path) -> None:
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


def test_processes_default_env_and_bounds() -> None:
    assert load_settings({}).server.processes == 1
    assert load_settings({"DATASTREAMS_PROCESSES": "4"}).server.processes == 4
    assert parse_settings({"server": {"processes": 64}}, {}).server.processes == 64
    for wrong in (0, 65):
        with pytest.raises(ConfigError, match=r"server\.processes"):
            parse_settings({"server": {"processes": wrong}}, {})
    with pytest.raises(ConfigError, match="DATASTREAMS_PROCESSES"):
        load_settings({"DATASTREAMS_PROCESSES": "two"})


def test_several_processes_need_a_fixed_port() -> None:
    with pytest.raises(ConfigError, match=r"server\.processes.*fixed server\.port"):
        parse_settings({"server": {"processes": 2, "port": 0}}, {})
    assert parse_settings({"server": {"processes": 1, "port": 0}}, {}).server.port == 0


def test_bad_port_env() -> None:
    with pytest.raises(ConfigError, match="DATASTREAMS_PORT"):
        load_settings({"DATASTREAMS_PORT": "eighty"})


def test_missing_or_invalid_file(tmp_path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings({"DATASTREAMS_CONFIG": str(tmp_path / "none.toml")})
    bad = tmp_path / "bad.toml"
    bad.write_text("[kafka\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings({"DATASTREAMS_CONFIG": str(bad)})


def test_secret_references(tmp_path) -> None:
    secret_file = tmp_path / "token"
    secret_file.write_text("token-from-a-file-0123456789\n")
    digest = ApiToken.from_plain("token-stored-as-a-hash-0123").digest.hex()
    doc = {
        "tenants": [
            {
                "munchkin_id": "123-ABC-456",
                "api_tokens": ["env:PUSH_TOKEN", f"file:{secret_file}", f"sha256:{digest}"],
                "oauth": {
                    "issuer": "https://idp.example.com/",
                    "audience": "datastreams",
                    "introspection_url": "https://idp.example.com/introspect",
                    "introspection_client_id": "ds",
                    "introspection_client_secret": "env:INTROSPECTION_SECRET",
                },
            }
        ]
    }
    env = {"PUSH_TOKEN": "token-from-the-env-0123456789", "INTROSPECTION_SECRET": "s3cr3t"}
    [tenant] = parse_settings(doc, env).tenants
    assert tenant.api_tokens == (
        ApiToken.from_plain("token-from-the-env-0123456789"),
        ApiToken.from_plain("token-from-a-file-0123456789"),
        ApiToken.from_plain("token-stored-as-a-hash-0123"),
    )
    assert tenant.oauth is not None
    assert tenant.oauth.introspection_client_secret is not None
    assert tenant.oauth.introspection_client_secret.reveal() == "s3cr3t"
    assert "s3cr3t" not in repr(tenant)
    assert "0123456789" not in repr(tenant)


@pytest.mark.parametrize(
    ("tenant", "env", "message"),
    [
        ({"api_tokens": ["env:MISSING"]}, {}, "environment variable MISSING"),
        ({"api_tokens": ["file:/nonexistent/x"]}, {}, "refers to file"),
        ({"oauth": {"issuer": "https://i/"}}, {}, "issuer' and 'audience'"),
        (
            {"oauth": {"issuer": "https://i/", "audience": "a", "algorithms": ["HS256"]}},
            {},
            "HS256",
        ),
        ({"oauth": {"issuer": "https://i/", "audience": "a", "algorithms": ["none"]}}, {}, "none"),
        (
            {
                "oauth": {
                    "issuer": "https://i/",
                    "audience": "a",
                    "introspection_url": "https://i/x",
                }
            },
            {},
            "client id and secret",
        ),
    ],
)
def test_secret_and_oauth_errors(tenant: dict, env: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError, match=message):
        parse_settings({"tenants": [{"munchkin_id": "123-ABC-456"} | tenant]}, env)


def test_tenants_sharing_an_issuer_need_distinct_client_ids() -> None:
    oauth = {"issuer": "https://i/", "audience": "a"}
    doc = {"tenants": [{"munchkin_id": "a", "oauth": oauth}, {"munchkin_id": "b", "oauth": oauth}]}
    with pytest.raises(ConfigError, match="client_ids"):
        parse_settings(doc, {})
    doc["tenants"][0]["oauth"] = oauth | {"client_ids": ["one"]}
    doc["tenants"][1]["oauth"] = oauth | {"client_ids": ["two"]}
    assert len(parse_settings(doc, {}).tenants) == 2


def test_limits_and_tls_settings(tmp_path) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x")
    key.write_text("x")
    doc = {
        "server": {"tls_cert_file": str(cert), "tls_key_file": str(key), "max_json_depth": 10},
        "limits": {"events_per_second": 5, "deliveries_burst": 3},
    }
    s = parse_settings(doc, {})
    assert s.server.tls_cert_file == str(cert)
    assert (s.limits.events_per_s, s.limits.deliveries_burst) == (5.0, 3)
    with pytest.raises(ConfigError, match="go together"):
        parse_settings({"server": {"tls_cert_file": str(cert)}}, {})
    with pytest.raises(ConfigError, match="not a file"):
        parse_settings({"server": {"tls_cert_file": "/nope", "tls_key_file": str(key)}}, {})
    with pytest.raises(ConfigError, match="at most 200"):
        parse_settings({"server": {"max_json_depth": 500}}, {})
    with pytest.raises(ConfigError, match="tls_client_ca_file"):
        parse_settings({"adobe_io": {"client_cert_cn": "x"}}, {})
