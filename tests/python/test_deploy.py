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
    out = subprocess.run([JIXIAO, "config", *args], env=clean_env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return tomllib.loads(out.stdout)


def test_compose_services_configure_as_their_roles(tmp_path):
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    services = compose["services"]
    jixiao = {name: s for name, s in services.items() if s.get("image", "").startswith("jixiao")}
    assert set(jixiao) == {"intake", "scoring", "audit", "export"}
    for name, svc in jixiao.items():
        config = effective_config(svc["command"], svc.get("environment"), tmp_path)
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
        config = effective_config(container["args"], None, tmp_path, config_map["data"]["jixiao.toml"])
        assert config["roles"] == [name.removeprefix("jixiao-")]
        port = int(config["listen"].rsplit(":", 1)[1])
        assert [p["containerPort"] for p in container["ports"]] == [port]
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
