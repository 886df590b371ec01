#!/usr/bin/env python3
"""The alerting rules: `promtool check rules` accepts
deploy/prometheus/wxcrypto-rules.yaml, its unit tests
(wxcrypto-rules.test.yaml) pass under `promtool test rules`, and the
PrometheusRule in deploy/base holds exactly the same groups."""

import shutil
import sys
import unittest

import deploy_testlib as lib

EXPECTED_ALERTS = {
    "WxcryptoServerErrorRatioHigh",
    "WxcryptoLatencyP99High",
    "WxcryptoSignatureFailuresHigh",
    "WxcryptoPreviousKeyStillInUse",
    "WxcryptoConfigReloadFailed",
}


class PromtoolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.promtool = shutil.which("promtool")
        cls.rules_file = lib.deploy_dir() / "prometheus" / "wxcrypto-rules.yaml"
        cls.rules = lib.load_yaml_file(cls.rules_file)

    def setUp(self):
        self.assertIsNotNone(self.promtool, "promtool is not on PATH (Debian package prometheus)")

    def test_promtool_check_rules_accepts_the_rules_file(self):
        result = lib.run([self.promtool, "check", "rules", self.rules_file], check=False)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("SUCCESS", result.stdout + result.stderr)

    def test_rules_unit_tests_pass(self):
        tests = lib.deploy_dir() / "prometheus" / "wxcrypto-rules.test.yaml"
        result = lib.run([self.promtool, "test", "rules", tests], check=False, timeout=120)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_every_alert_has_a_unit_test(self):
        tests = lib.load_yaml_file(lib.deploy_dir() / "prometheus" / "wxcrypto-rules.test.yaml")
        tested = {
            case["alertname"]
            for test in tests["tests"]
            for case in test.get("alert_rule_test", [])
            if case.get("exp_alerts")
        }
        alerts = {name for name, _ in lib.rules_exprs(self.rules)}
        self.assertEqual(alerts, EXPECTED_ALERTS)
        self.assertEqual(tested, alerts, "alerts shown firing by a unit test")

    def test_every_alert_has_severity_summary_and_description(self):
        for group in self.rules["groups"]:
            for rule in group["rules"]:
                with self.subTest(alert=rule.get("alert")):
                    self.assertIn(rule["labels"]["severity"], ("critical", "warning", "info"))
                    self.assertTrue(rule["annotations"]["summary"])
                    self.assertTrue(rule["annotations"]["description"])

    def test_prometheus_rule_has_the_same_groups_as_the_rules_file(self):
        rule = lib.load_yaml_file(lib.deploy_dir() / "base" / "prometheusrule.yaml")
        self.assertEqual(rule["kind"], "PrometheusRule")
        self.assertEqual(
            rule["spec"]["groups"],
            self.rules["groups"],
            "deploy/base/prometheusrule.yaml is stale: run "
            "python3 deploy/prometheus/render-prometheusrule.py",
        )
        self.assertEqual(set(rule["spec"]), {"groups"})

    def test_render_script_agrees(self):
        script = lib.deploy_dir() / "prometheus" / "render-prometheusrule.py"
        result = lib.run([sys.executable, script, "--check"], check=False)
        self.assertEqual(result.returncode, 0, result.stderr)


if __name__ == "__main__":
    lib.main()
