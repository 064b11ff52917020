"""The alerting rules the runbook names (docker/prometheus/alerts.yml) are valid for
Prometheus, and every metric they use is one the server exports."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "docker" / "prometheus" / "alerts.yml"
PROMTOOL = Path("/usr/bin/promtool")


def test_promtool_accepts_the_alerting_rules() -> None:
    assert PROMTOOL.exists(), "Debian's prometheus is missing: scripts/ensure-services.sh"
    checked = subprocess.run(
        [str(PROMTOOL), "check", "rules", str(RULES)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_alert_uses_exported_metrics_and_is_in_the_runbook() -> None:
    exported = (ROOT / "repo_server" / "observability" / "metrics.py").read_text()
    runbook = (ROOT / "docs" / "operations.md").read_text()
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    for rule in rules:
        for metric in set(re.findall(r"\bdepot_[a-z_]+", rule["expr"])):
            base = re.sub(r"_(total|bucket|count|sum)$", "", metric)
            assert f'"{base}"' in exported, (rule["alert"], metric)
        assert f"`{rule['alert']}`" in runbook, rule["alert"]
