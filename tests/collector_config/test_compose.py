"""compose.yaml and the files it mounts: every mounted file exists, every service another one
points at exists, images are pinned, and Grafana's provisioning matches what it is given."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.collector_config.conftest import CONFIG_DIR, load_yaml

SERVICES = {"otel-collector", "jaeger", "tempo", "prometheus", "grafana"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml("compose.yaml")


def test_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == SERVICES
    for name, service in services.items():
        image, _, tag = service["image"].rpartition(":")
        assert image and tag and tag != "latest", f"{name}: pin the image version"
        assert set(service.get("depends_on") or []) <= set(services), name


def test_mounted_files_exist_and_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for volume in service.get("volumes") or []:
            source, target = volume.split(":")[:2]
            if source.startswith("./"):
                assert (CONFIG_DIR / source).exists(), f"{name}: {source}"
            else:
                assert source in compose["volumes"], f"{name}: {source}"
            assert target.startswith("/")


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """{container path: source} of a service's volumes."""
    return {volume.split(":")[1]: volume.split(":")[0] for volume in service.get("volumes") or []}


def test_each_service_reads_the_config_mounted_for_it(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert _mounts(services["otel-collector"])["/etc/otelcol-contrib/config.yaml"] == "./collector.yaml"
    assert "--config=/etc/otelcol-contrib/config.yaml" in services["otel-collector"]["command"]
    assert _mounts(services["tempo"])["/etc/tempo.yaml"] == "./tempo.yaml"
    assert "-config.file=/etc/tempo.yaml" in services["tempo"]["command"]
    assert _mounts(services["prometheus"])["/etc/prometheus/prometheus.yml"] == "./prometheus.yml"
    assert "--config.file=/etc/prometheus/prometheus.yml" in services["prometheus"]["command"]


def test_prometheus_scrapes_known_hosts(compose: dict[str, Any]) -> None:
    config = load_yaml("prometheus.yml")
    for job in config["scrape_configs"]:
        for static in job["static_configs"]:
            for target in static["targets"]:
                host = target.split(":")[0]
                assert host in compose["services"] or host == "host.docker.internal", target
    # host.docker.internal resolves only where compose maps it.
    assert "host.docker.internal:host-gateway" in compose["services"]["prometheus"]["extra_hosts"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian package prometheus) not installed")
def test_promtool_accepts_the_prometheus_config() -> None:
    result = subprocess.run(["promtool", "check", "config", "--syntax-only", str(CONFIG_DIR / "prometheus.yml")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_datasources_point_at_the_services(compose: dict[str, Any]) -> None:
    datasources = load_yaml("grafana/provisioning/datasources/datasources.yaml")["datasources"]
    by_uid = {source["uid"]: source for source in datasources}
    assert len(by_uid) == len(datasources)
    assert {by_uid[uid]["type"] for uid in by_uid} == {"prometheus", "tempo", "jaeger"}
    hosts = {uid: urlsplit(source["url"]) for uid, source in by_uid.items()}
    for uid, url in hosts.items():
        assert url.hostname in compose["services"], uid
    assert hosts["tempo"].port == load_yaml("tempo.yaml")["server"]["http_listen_port"]
    assert hosts["prometheus"].port == 9090
    assert hosts["jaeger"].port == 16686
    # Exemplar links go to a datasource that exists.
    for link in by_uid["prometheus"]["jsonData"]["exemplarTraceIdDestinations"]:
        assert link["datasourceUid"] in by_uid


def test_grafana_loads_the_dashboards_directory(compose: dict[str, Any]) -> None:
    [provider] = load_yaml("grafana/provisioning/dashboards/dashboards.yaml")["providers"]
    mounts = _mounts(compose["services"]["grafana"])
    assert mounts[provider["options"]["path"]] == "./grafana/dashboards"
    assert mounts["/etc/grafana/provisioning"] == "./grafana/provisioning"
    dashboards = sorted((CONFIG_DIR / "grafana" / "dashboards").glob("*.json"))
    assert dashboards
    uids = [json.loads(path.read_text("utf-8"))["uid"] for path in dashboards]
    assert len(set(uids)) == len(uids)


def test_every_dashboard_panel_uses_a_provisioned_datasource() -> None:
    uids = {source["uid"] for source in load_yaml("grafana/provisioning/datasources/datasources.yaml")["datasources"]}
    for path in Path(CONFIG_DIR / "grafana" / "dashboards").glob("*.json"):
        dashboard = json.loads(path.read_text("utf-8"))
        for panel in dashboard["panels"]:
            for item in [panel, *panel.get("targets", [])]:
                if "datasource" in item:
                    assert item["datasource"]["uid"] in uids, (path.name, panel["title"])
        for variable in dashboard["templating"]["list"]:
            assert variable["datasource"]["uid"] in uids
