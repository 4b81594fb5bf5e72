"""Managed Kafka: the [kafka] security settings and the one client-options helper."""

import ssl
from pathlib import Path
from typing import Any

import pytest

from ingest.settings import parse_settings
from pipeline.config import Secret
from pipeline.errors import ConfigError
from pipeline.settings import KafkaSettings, client_options, read_kafka
from tests.support.certs import CertificateAuthority


def kafka(env: dict[str, str] | None = None, **values: Any) -> KafkaSettings:
    return read_kafka({"kafka": values}, env or {})


def test_defaults_stay_plaintext_and_need_nothing_new() -> None:
    settings = kafka()
    assert settings.security_protocol == "PLAINTEXT"
    assert client_options(settings) == {
        "bootstrap_servers": "127.0.0.1:9092",
        "security_protocol": "PLAINTEXT",
    }


def test_sasl_ssl_with_scram_and_a_password_from_the_environment(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path)
    settings = kafka(
        {"KAFKA_PASSWORD": "s3cret-from-env"},
        bootstrap_servers="b-1.example.kafka:9096",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="datastreams",
        sasl_password="env:KAFKA_PASSWORD",
        ssl_cafile=str(ca.cert_file),
    )
    options = client_options(settings)
    context = options.pop("ssl_context")
    assert options == {
        "bootstrap_servers": "b-1.example.kafka:9096",
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "datastreams",
        "sasl_plain_password": "s3cret-from-env",
    }
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert len(context.get_ca_certs()) == 1  # only the configured CA


def test_password_from_a_mounted_secret_file_is_never_shown(tmp_path: Path) -> None:
    secret = tmp_path / "kafka-password"
    secret.write_text("from-a-file\n")
    settings = kafka(
        security_protocol="SASL_PLAINTEXT",
        sasl_username="u",
        sasl_password=f"file:{secret}",
    )
    assert settings.sasl_password == Secret("from-a-file")
    assert "from-a-file" not in repr(settings)
    assert client_options(settings)["sasl_mechanism"] == "PLAIN"
    assert "ssl_context" not in client_options(settings)


def test_ssl_with_a_client_certificate(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path)
    client = ca.issue("datastreams", server=False)
    settings = kafka(
        security_protocol="SSL",
        ssl_cafile=str(ca.cert_file),
        ssl_certfile=str(client.cert),
        ssl_keyfile=str(client.key),
        ssl_check_hostname=False,
    )
    options = client_options(settings)
    assert "sasl_mechanism" not in options
    assert options["ssl_context"].check_hostname is False


def test_system_cas_when_no_cafile_is_given() -> None:
    settings = kafka(security_protocol="SASL_SSL", sasl_username="u", sasl_password="p")
    context = client_options(settings)["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED


def test_the_whole_config_file_accepts_the_kafka_security_keys(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("pw")
    doc = {
        "kafka": {
            "bootstrap_servers": "pkc-1.example.cloud:9092",
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "PLAIN",
            "sasl_username": "API-KEY",
            "sasl_password": f"file:{secret}",
        }
    }
    settings = parse_settings(doc, {})
    assert settings.kafka.sasl_username == "API-KEY"
    assert settings.kafka.sasl_password == Secret("pw")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"security_protocol": "TLS"}, "Expected one of ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT'"),
        (
            {"security_protocol": "SASL_SSL", "sasl_mechanism": "GSSAPI"},
            "'kafka.sasl_mechanism' has value 'GSSAPI'",
        ),
        ({"security_protocol": "SASL_SSL"}, "set kafka.sasl_username and kafka.sasl_password"),
        (
            {"security_protocol": "SASL_SSL", "sasl_username": "u"},
            "set kafka.sasl_username and kafka.sasl_password",
        ),
        ({"sasl_username": "u", "sasl_password": "p"}, "need security_protocol 'SASL_SSL'"),
        (
            {"security_protocol": "SASL_SSL", "sasl_username": "u", "sasl_password": "env:NOPE"},
            "'kafka.sasl_password' refers to environment variable NOPE, unset",
        ),
        (
            {"security_protocol": "SASL_SSL", "sasl_username": "u", "sasl_password": "file:/no"},
            "'kafka.sasl_password' refers to file '/no'",
        ),
        (
            {"security_protocol": "SSL", "ssl_cafile": "/no/ca.pem"},
            "'kafka.ssl_cafile' names '/no/ca.pem', which is not a file",
        ),
        ({"security_protocol": "SSL", "sasl_password": 5}, "Expected a string"),
        ({"ssl_check_hostname": "yes"}, "'kafka.ssl_check_hostname' has value 'yes'"),
    ],
)
def test_bad_security_settings_name_the_key(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        kafka(**values)
    assert message in str(caught.value)


def test_tls_files_need_a_tls_protocol_and_a_key_needs_its_certificate(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path)
    with pytest.raises(ConfigError, match="need security_protocol 'SSL' or 'SASL_SSL'"):
        kafka(ssl_cafile=str(ca.cert_file))
    with pytest.raises(ConfigError, match=r"'kafka\.ssl_keyfile' needs kafka\.ssl_certfile"):
        kafka(security_protocol="SSL", ssl_keyfile=str(ca.cert_file))


def test_secret_values_never_appear_in_errors() -> None:
    with pytest.raises(ConfigError) as caught:
        kafka(sasl_username="u", sasl_password="hunter2-literal")
    assert "hunter2" not in str(caught.value)
