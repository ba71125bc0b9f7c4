"""``serve --certfile F --keyfile F``: HTTPS with a self-signed certificate made at test time by the
``openssl`` binary, checked by real clients (http.client with that CA, and openlineage-python's
HttpTransport given it as its CA bundle); unusable certificate files are exit-2 errors."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import ssl
import subprocess
from pathlib import Path

import orjson
import pytest

from conftest import run_event, table_counts
from lineagectl import api
from lineagectl.errors import InputError
from serving import Running, post
from test_serve_cli import Process
from test_serve_client import CLIENT, _client_python

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl binary is not installed")


def _self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("pki")
    cert, key = _self_signed(directory, "server")
    other_cert, other_key = _self_signed(directory, "other")
    return {"cert": cert, "key": key, "other_key": other_key, "other_cert": other_cert}


def _https(running: Running, cafile: Path | None) -> http.client.HTTPSConnection:
    context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    return http.client.HTTPSConnection("127.0.0.1", running.port, timeout=10, context=context)


def test_https_with_the_servers_ca_is_stored_and_other_clients_are_refused(db, pki):
    running = Running(db, certfile=str(pki["cert"]), keyfile=str(pki["key"]))
    assert post(_https(running, pki["cert"]), orjson.dumps(run_event("r1")))[0] == 201
    with pytest.raises(ssl.SSLCertVerificationError):  # a client that does not trust this certificate
        post(_https(running, pki["other_cert"]), orjson.dumps(run_event("r-untrusted")))
    plain = http.client.HTTPConnection("127.0.0.1", running.port, timeout=10)
    with pytest.raises((http.client.HTTPException, ConnectionError)):  # plain HTTP to the TLS port
        post(plain, orjson.dumps(run_event("r-plain")))
    conn = _https(running, pki["cert"])  # the server goes on serving, on a kept-alive connection
    assert post(conn, orjson.dumps(run_event("r2")))[0] == 201
    assert post(conn, orjson.dumps(run_event("r3")))[0] == 201
    assert running.stop() == {"events_spooled": 3, "events_stored": 3}
    assert table_counts(db)["events"] == 3
    assert any("TLS connection failed" in line for line in running.lines)
    assert not any("Traceback" in line for line in running.lines)


def test_the_openlineage_python_client_over_https_with_a_ca_bundle(db, pki):
    python = _client_python()
    if python is None:
        if os.environ.get("CI"):
            pytest.fail("openlineage-python is not installed (pip install -e '.[test]')")
        pytest.skip("openlineage-python is not installed here (set OPENLINEAGE_PYTHON to an interpreter with it)")
    client = CLIENT.replace(
        "compression=HttpCompression.GZIP)))",
        "compression=HttpCompression.GZIP, ssl_context=HttpSslContextConfig(ca_cert_path=sys.argv[3]))))")
    client = client.replace("HttpConfig, HttpTransport", "HttpConfig, HttpSslContextConfig, HttpTransport")
    assert client.count("HttpSslContextConfig") == 2  # the client script changed under us otherwise
    running = Running(db, token="tls-key", certfile=str(pki["cert"]), keyfile=str(pki["key"]))
    https_url = running.url.replace("http://", "https://")
    sent = subprocess.run([python, "-c", client, https_url, "tls-key", str(pki["cert"])], capture_output=True,
                          text=True, timeout=120)
    assert sent.returncode == 0 and "sent 6" in sent.stdout, sent.stderr
    untrusted = subprocess.run([python, "-c", client, https_url, "tls-key", str(pki["other_cert"])],
                               capture_output=True, text=True, timeout=120)
    assert untrusted.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr
    assert running.stop() == {"events_spooled": 6, "events_stored": 6}
    downstream = api.impact("public.users_0", db).payload["datasets"]
    assert [d["name"] for d in downstream] == ["public.users_1", "public.users_2", "public.users_3"]


def test_unusable_certificate_files_are_clear_input_errors(db, pki, tmp_path):
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello\n")
    encrypted = tmp_path / "encrypted.key"
    subprocess.run(["openssl", "pkey", "-in", str(pki["key"]), "-out", str(encrypted), "-aes256",
                    "-passout", "pass:secret"], check=True, capture_output=True, timeout=60)
    cases = [
        ({"certfile": str(tmp_path / "missing.crt"), "keyfile": str(pki["key"])}, "--certfile .*missing.crt: no such file"),
        ({"certfile": str(pki["cert"]), "keyfile": str(tmp_path)}, "--keyfile .*: is a directory"),
        ({"certfile": str(not_pem), "keyfile": str(pki["key"])}, "--certfile .*not.pem: holds no PEM certificate"),
        ({"certfile": str(pki["cert"]), "keyfile": str(not_pem)}, "--keyfile .*not.pem: holds no usable PEM private"),
        ({"certfile": str(pki["cert"]), "keyfile": str(pki["other_key"])},
         "--keyfile .*other.key: the private key does not match the certificate in --certfile .*server.crt"),
        ({"certfile": str(pki["cert"]), "keyfile": str(encrypted)}, "protected by a passphrase"),
        ({"keyfile": str(pki["key"])}, "--keyfile needs --certfile"),
    ]
    for options, message in cases:
        with pytest.raises(InputError, match=message):
            api.serve(db, port=0, **options)
    assert not os.path.exists(db)  # nothing was started, nothing written


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_key_file_exits_2_naming_it(db, pki, tmp_path):
    locked = tmp_path / "locked.key"
    locked.write_bytes(pki["key"].read_bytes())
    locked.chmod(0)
    server = Process(db, "--certfile", str(pki["cert"]), "--keyfile", str(locked))
    status, stderr = server.end(None)
    assert status == 2 and server.port is None, stderr
    assert f"--keyfile {locked}: cannot be read: Permission denied" in stderr and "Traceback" not in stderr


def test_tls_beyond_loopback_still_needs_a_token_and_https_is_announced(db, pki):
    refused = Process(db, "--host", "0.0.0.0", "--certfile", str(pki["cert"]), "--keyfile", str(pki["key"]))
    status, stderr = refused.end(None)
    assert status == 2 and "no token is set" in stderr
    server = Process(db, "--certfile", str(pki["cert"]), "--keyfile", str(pki["key"]))
    assert "listening on https://127.0.0.1:" in server.stderr
    context = ssl.create_default_context(cafile=str(pki["cert"]))
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=10, context=context)
    assert post(conn, orjson.dumps(run_event("r1")))[0] == 201
    assert server.end()[0] == 0
    assert table_counts(db)["events"] == 1


def test_a_client_silent_before_the_handshake_delays_no_one_and_is_cut_off(db, pki):
    """The handshake runs on the connection's own thread under the socket timeout, not in the accept loop."""
    running = Running(db, certfile=str(pki["cert"]), keyfile=str(pki["key"]), socket_timeout=0.5)
    silent = socket.create_connection(("127.0.0.1", running.port), timeout=10)  # never says hello
    assert post(_https(running, pki["cert"]), orjson.dumps(run_event("r1")))[0] == 201
    assert silent.recv(1024) == b""  # closed by the server after its socket timeout
    silent.close()
    assert running.stop()["events_stored"] == 1


def test_export_to_an_https_serve_trusting_its_ca_through_ssl_cert_file(db, pki, tmp_path):
    """The outgoing client (export --to, import-marquez) verifies certificates with the system's CAs;
    OpenSSL's ``SSL_CERT_FILE`` points it at a private one."""
    import sys

    from conftest import ROOT, SAMPLE

    source = str(tmp_path / "source.duckdb")
    api.ingest([str(SAMPLE / "ecommerce.ndjson")], source)
    running = Running(db, certfile=str(pki["cert"]), keyfile=str(pki["key"]))
    https_url = running.url.replace("http://", "https://")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGECTL_")}
    env["PYTHONPATH"] = str(ROOT / "src")
    command = [sys.executable, "-m", "lineagectl", "--db", source, "export", "--to", https_url]
    untrusted = subprocess.run(command, capture_output=True, text=True, timeout=120,
                               env={**env, "SSL_CERT_FILE": str(pki["other_cert"])})
    assert untrusted.returncode == 2 and "gave up after 1 attempts" in untrusted.stderr  # never retried
    assert "certificate is not trusted" in untrusted.stderr and "SSL_CERT_FILE" in untrusted.stderr
    trusted = subprocess.run(command, capture_output=True, text=True, timeout=120,
                             env={**env, "SSL_CERT_FILE": str(pki["cert"])})
    assert trusted.returncode == 0, trusted.stderr
    assert running.stop()["events_stored"] == api.stats(source).payload["events"]
