"""Tokens end to end, as an operator and a platform use them: `jixiao token
create` prints a token once, `jixiao serve` with auth.required checks it on
every RPC (grpcio and the jixiao CLI as clients), `jixiao token revoke` ends
it, and a server beyond loopback without tokens refuses to start."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

GEN = Path(__file__).parent / "gen"
sys.path.insert(0, str(GEN))

from jixiao.v1 import services_pb2, services_pb2_grpc  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
JIXIAO = os.environ.get("JIXIAO_BIN", str(ROOT / "target" / "debug" / "jixiao"))
SAMPLE = ROOT / "crates" / "jixiao-parse" / "tests" / "samples" / "zhuzhou-gxj-2024.txt"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    data = tmp_path_factory.mktemp("secured")

    def token(*args):
        out = subprocess.run([JIXIAO, "token", *args, "--data-dir", str(data)], env=clean_env(),
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out

    created = token("create", "--tenant", "湖南省/株洲市", "--scopes", "submit,read", "--name", "株洲平台")
    secret = created.stdout.strip()
    assert secret.startswith("jx_") and "shown only this once" in created.stderr
    port = free_port()
    log = open(data / "server.log", "w")
    server = subprocess.Popen(
        [JIXIAO, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data)],
        env=clean_env(JIXIAO_AUTH__REQUIRED="true", JIXIAO_AUTH__CACHE_SECS="0"),
        stdout=log, stderr=log)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    grpc.channel_ready_future(channel).result(timeout=60)
    yield {"token": token, "secret": secret, "channel": channel, "addr": f"http://127.0.0.1:{port}"}
    channel.close()
    server.terminate()
    assert server.wait(timeout=30) == 0


def bearer(secret):
    return [("authorization", f"Bearer {secret}")]


def test_every_call_needs_a_valid_token_with_its_scope(secured):
    scoring = services_pb2_grpc.ScoringServiceStub(secured["channel"])
    with pytest.raises(grpc.RpcError) as err:
        scoring.ListRulebooks(services_pb2.ListRulebooksRequest(), timeout=10)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    reply = scoring.ListRulebooks(services_pb2.ListRulebooksRequest(), metadata=bearer(secured["secret"]), timeout=10)
    assert reply.default_rulebook_id
    export = services_pb2_grpc.ExportServiceStub(secured["channel"])
    with pytest.raises(grpc.RpcError) as err:
        list(export.ExportBatch(services_pb2.ExportBatchRequest(), metadata=bearer(secured["secret"]), timeout=10))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "export" in err.value.details()


def test_the_cli_imports_with_a_token_into_the_tokens_region(secured):
    out = subprocess.run([JIXIAO, "import", str(SAMPLE), "--addr", secured["addr"]],
                         env=clean_env(JIXIAO_TOKEN=secured["secret"]), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "21 forms stored" in out.stdout
    intake = services_pb2_grpc.IntakeServiceStub(secured["channel"])
    listed = intake.ListSubmissions(services_pb2.ListSubmissionsRequest(page_size=1000),
                                    metadata=bearer(secured["secret"]), timeout=10)
    assert len(listed.submissions) == 21
    assert {s.tenant for s in listed.submissions} == {"湖南省/株洲市"}
    out = subprocess.run([JIXIAO, "import", str(SAMPLE), "--addr", secured["addr"]], env=clean_env(),
                         capture_output=True, text=True, timeout=60)
    assert "not imported" in out.stdout and "Bearer" in out.stdout, out.stdout


def test_a_revoked_token_is_refused(secured):
    created = secured["token"]("create", "--tenant", "湖南省/株洲市", "--scopes", "read")
    secret = created.stdout.strip()
    token_id = secret.split("_")[1]
    scoring = services_pb2_grpc.ScoringServiceStub(secured["channel"])
    scoring.ListRulebooks(services_pb2.ListRulebooksRequest(), metadata=bearer(secret), timeout=10)
    listed = secured["token"]("list").stdout
    assert any(line.startswith(token_id) and "active" in line for line in listed.splitlines()), listed
    assert secret not in listed, "tokens are never shown again"
    assert "revoked" in secured["token"]("revoke", token_id).stdout
    with pytest.raises(grpc.RpcError) as err:
        scoring.ListRulebooks(services_pb2.ListRulebooksRequest(), metadata=bearer(secret), timeout=10)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "revoked" in err.value.details()


def test_an_open_server_beyond_loopback_does_not_start(tmp_path):
    out = subprocess.run([JIXIAO, "serve", "--listen", f"0.0.0.0:{free_port()}", "--data-dir", str(tmp_path)],
                         env=clean_env(), capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert "auth.required" in out.stderr and "loopback" in out.stderr, out.stderr
