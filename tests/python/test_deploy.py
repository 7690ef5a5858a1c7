"""deploy/ cannot run here (no container engine): check it against the binary.
Every jixiao container's arguments and environment go through the binary's own
configuration loader (`jixiao config`), which rejects unknown keys and bad
values; ports, probes, services and peers must agree with what it prints."""

import os
import subprocess
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
JIXIAO = os.environ.get("JIXIAO_BIN", str(ROOT / "target" / "debug" / "jixiao"))


def effective_config(args, env, tmp_path, config_text=None):
    """The configuration `jixiao serve ARGS` would run with."""
    args = list(args)
    if args[:1] == ["jixiao"]:
        args = args[1:]
    assert args[0] == "serve", args
    args = args[1:]
    if config_text is not None:
        path = tmp_path / "jixiao.toml"
        path.write_text(config_text)
        args = [str(path) if a == "/etc/jixiao/jixiao.toml" else a for a in args]
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
    clean_env.update({k: str(v) for k, v in (env or {}).items()})
    out = subprocess.run([JIXIAO, "config", "show", *args], env=clean_env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return tomllib.loads(out.stdout)


SECRET = "s" * 64


def compose_env(environment):
    """Compose's ${VAR:?…} interpolation, with the secret an operator would export."""
    import re
    return {k: re.sub(r"\$\{JIXIAO_INTERNAL_TOKEN[^}]*\}", SECRET, str(v)) for k, v in (environment or {}).items()}


def container_env(container):
    """A container's environment; values from Secrets stand in as the secret."""
    return {e["name"]: e.get("value", SECRET) for e in container.get("env", [])}


def test_compose_services_configure_as_their_roles(tmp_path):
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    services = compose["services"]
    jixiao = {name: s for name, s in services.items() if s.get("image", "").startswith("jixiao")}
    assert set(jixiao) == {"intake", "scoring", "audit", "export"}
    for name, svc in jixiao.items():
        config = effective_config(svc["command"], compose_env(svc.get("environment")), tmp_path)
        assert config["auth"]["required"] is True and config["auth"]["internal_token"] == "***"
        assert config["telemetry"]["admin_listen"].endswith(":9464")
        assert config["roles"] == [name]
        port = int(config["listen"].rsplit(":", 1)[1])
        for mapping in svc.get("ports", []):
            assert int(str(mapping).split(":")[-1]) == port, (name, mapping)
        for peer in config["peers"].values():
            if peer:
                host, peer_port = peer.removeprefix("http://").split(":")
                assert host in services and int(peer_port) == port, (name, peer)
        assert config["database_url"].startswith("postgres://") and "@postgres:" in config["database_url"]
        assert config["redis_url"] == "redis://redis:6379"
    assert jixiao["scoring"]["deploy"]["replicas"] >= 2


def test_kubernetes_deployments_probes_and_services_agree(tmp_path):
    docs = [d for d in yaml.safe_load_all((ROOT / "deploy" / "k8s" / "jixiao.yaml").read_text()) if d]
    config_map = next(d for d in docs if d["kind"] == "ConfigMap")
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    assert set(deployments) == {"jixiao-intake", "jixiao-scoring", "jixiao-audit", "jixiao-export"}
    for name, dep in deployments.items():
        container = dep["spec"]["template"]["spec"]["containers"][0]
        config = effective_config(container["args"], container_env(container), tmp_path,
                                  config_map["data"]["jixiao.toml"])
        assert config["roles"] == [name.removeprefix("jixiao-")]
        assert config["auth"]["required"] is True and config["auth"]["internal_token"] == "***"
        port = int(config["listen"].rsplit(":", 1)[1])
        admin = int(config["telemetry"]["admin_listen"].rsplit(":", 1)[1])
        assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"grpc": port, "metrics": admin}
        assert container["readinessProbe"]["grpc"]["port"] == port
        assert container["livenessProbe"]["grpc"]["port"] == port
        svc = services[name]
        assert svc["spec"]["selector"] == dep["spec"]["selector"]["matchLabels"]
        assert [p["targetPort"] for p in svc["spec"]["ports"]] == [port]
        for peer in config["peers"].values():
            if peer:
                host, peer_port = peer.removeprefix("http://").split(":")
                assert host in services and int(peer_port) == port, (name, peer)
    assert deployments["jixiao-scoring"]["spec"]["replicas"] >= 2


def test_an_open_server_beyond_loopback_is_refused_and_secrets_are_masked(tmp_path):
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
    out = subprocess.run([JIXIAO, "config", "show", "--listen", "0.0.0.0:50051"], env=clean_env,
                         capture_output=True, text=True)
    assert out.returncode != 0
    assert "auth.required" in out.stderr and "loopback" in out.stderr, out.stderr
    env = dict(clean_env, JIXIAO_AUTH__REQUIRED="true", JIXIAO_AUTH__INTERNAL_TOKEN=SECRET,
               JIXIAO_DATABASE_URL="postgres://jixiao:hunter2@db:5432/jixiao")
    out = subprocess.run([JIXIAO, "config", "show", "--listen", "0.0.0.0:50051"], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert SECRET not in out.stdout and "hunter2" not in out.stdout
    out = subprocess.run([JIXIAO, "config", "show"], env=dict(clean_env, JIXIAO_LIMITS__MAX_BATCH_FORMS="many"),
                         capture_output=True, text=True)
    assert out.returncode != 0 and "max_batch_forms" in out.stderr, out.stderr
