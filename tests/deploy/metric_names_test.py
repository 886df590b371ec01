#!/usr/bin/env python3
"""Every metric name that the alerting rules and the Grafana dashboard use is
one a real wxcrypto-server exports.

Starts wxcrypto-server on 127.0.0.1 with a config whose demo app has a
current and a previous key, drives each kind of traffic with wxcrypto-cli
(a push opened by the previous key, a reply, signature failures, open-data
and rawData calls), makes one config reload succeed and one fail, scrapes
/metrics and compares sample names exactly: a histogram `x` is queried as
x_bucket, x_sum or x_count, never as `x`.
"""

import json
import os
import pathlib
import tempfile
import unittest

import deploy_testlib as lib

APP_ID = "wxba5fad812f8e6fb9"
TOKEN = "AAAAA"
# Public documentation keys (README): the previous key opens the push.
PREVIOUS_KEY = "A" * 43
CURRENT_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def write_atomically(path: pathlib.Path, text: str):
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def config_json(apps) -> str:
    return json.dumps({"apps": apps})


def demo_app(**overrides) -> dict:
    app = {
        "app_id": APP_ID,
        "token": TOKEN,
        "encoding_aes_key": CURRENT_KEY,
        "previous_encoding_aes_keys": [PREVIOUS_KEY],
        "mode": "MODE_COMPATIBLE",
    }
    app.update(overrides)
    return app


class PromqlNameExtractionTest(unittest.TestCase):
    """The extraction the main test relies on, on known expressions."""

    def test_finds_metrics_and_skips_functions_labels_and_keywords(self):
        self.assertEqual(
            lib.promql_metric_names(
                'histogram_quantile(0.99, sum by (job, le) '
                '(rate(a_bucket{code=~"X|Y", job=~"$job"}[$__rate_interval]))) > 0.1 '
                "and on (job) b_total offset 5m / ignoring(code) c"
            ),
            {"a_bucket", "b_total", "c"},
        )

    def test_skips_numbers_and_durations(self):
        self.assertEqual(
            lib.promql_metric_names("sum(increase(x_total[1h])) > 1e3 * 0.5"), {"x_total"}
        )

    def test_reads_grafana_label_values(self):
        self.assertEqual(
            lib.promql_metric_names(lib.label_values_metric('label_values(m{ns=~"$ns"}, job)')),
            {"m"},
        )


class MetricNamesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        config = pathlib.Path(cls.tmp.name) / "config.json"
        config.write_text(config_json([demo_app()]))
        cls.server = lib.ServerProcess(
            [f"--config={config}", "--config-poll-seconds=0.2"]
        ).__enter__()
        try:
            cls.drive_traffic(config)
            cls.exposition = cls.server.scrape()
        finally:
            cls.server.stop()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.tmp.cleanup()

    @classmethod
    def drive_traffic(cls, config: pathlib.Path):
        addr = ["--addr", cls.server.addr]
        # A push sealed with the previous key: DecryptPush says key_index 1,
        # and the reply is built with that key.
        sealed = json.loads(
            lib.cli(
                "seal-push", "--token", TOKEN, "--encoding-aes-key", PREVIOUS_KEY,
                "--receive-id", APP_ID, "--format", "xml",
                "--message", "<xml><MsgType><![CDATA[text]]></MsgType>"
                "<Content><![CDATA[hello]]></Content></xml>",
            ).stdout
        )
        opened = json.loads(
            lib.cli(
                "decrypt-push", *addr, "--app-id", APP_ID, "--query", sealed["query"],
                "--body", sealed["body"],
            ).stdout
        )
        assert int(opened["key_index"]) == 1, opened
        lib.cli(
            "build-reply", *addr, "--app-id", APP_ID, "--format", "xml",
            "--key-index", "1", "--message", "<xml><Content><![CDATA[hi]]></Content></xml>",
        )
        # Signature failures: a wrong and a missing msg_signature.
        bad = lib.cli(
            "decrypt-push", *addr, "--app-id", APP_ID, "--query", sealed["query"],
            "--msg-signature", "0" * 40, "--body", sealed["body"], check_codes=(1,),
        )
        assert lib.cli_error_reason(bad) == "SIGNATURE_MISMATCH", bad.stderr
        missing = lib.cli(
            "decrypt-push", *addr, "--app-id", APP_ID, "--encrypt-type", "aes",
            "--timestamp", sealed["timestamp"], "--nonce", sealed["nonce"],
            "--msg-signature=", "--body", sealed["body"], check_codes=(1,),
        )
        assert lib.cli_error_reason(missing) == "SIGNATURE_MISSING", missing.stderr
        # Open data and rawData (a mismatch is OK with valid=false).
        lib.cli("verify-raw-data", *addr, "--raw-data", "x", "--signature", "y", "--session-key", "z")
        lib.cli(
            "decrypt-user-data", *addr, "--app-id", APP_ID, "--session-key", "not-a-key",
            "--iv", "x", "--encrypted-data", "x", check_codes=(1,),
        )
        # One config reload that succeeds, one that fails (not JSON).
        metrics = cls.server.scrape
        write_atomically(config, config_json([demo_app(token="BBBBB")]))
        lib.wait_for(
            lambda: lib.sample_value(metrics(), "wxcrypto_config_reloads_total", {"result": "success"}) >= 1,
            timeout=20, what="a successful config reload",
        )
        write_atomically(config, "{not json")
        lib.wait_for(
            lambda: lib.sample_value(metrics(), "wxcrypto_config_reloads_total", {"result": "failure"}) >= 1,
            timeout=20, what="a failed config reload",
        )

    # --- the scrape itself ---------------------------------------------------

    def samples(self) -> dict:
        return lib.exposition_samples(self.exposition)

    def wxcrypto_families(self) -> dict:
        return {
            name: kind for name, kind in lib.exposition_types(self.exposition).items()
            if name.startswith("wxcrypto_")
        }

    def test_scrape_has_every_documented_family(self):
        self.assertEqual(
            self.wxcrypto_families(),
            {
                "wxcrypto_requests_total": "counter",
                "wxcrypto_request_duration_seconds": "histogram",
                "wxcrypto_failures_total": "counter",
                "wxcrypto_previous_key_decrypts_total": "counter",
                "wxcrypto_config_reloads_total": "counter",
                "wxcrypto_config_generation": "gauge",
                "wxcrypto_apps_configured": "gauge",
                "wxcrypto_build_info": "gauge",
            },
        )

    def test_traffic_reached_the_metrics(self):
        text = self.exposition
        self.assertEqual(
            lib.sample_value(text, "wxcrypto_previous_key_decrypts_total", {"app_id": APP_ID}), 1
        )
        self.assertEqual(
            lib.sample_value(text, "wxcrypto_failures_total",
                             {"method": "DecryptPush", "reason": "SIGNATURE_MISMATCH"}), 1
        )
        self.assertEqual(
            lib.sample_value(text, "wxcrypto_requests_total", {"method": "DecryptPush", "code": "OK"}), 1
        )
        self.assertEqual(lib.sample_value(text, "wxcrypto_config_generation", {}), 2)
        self.assertGreaterEqual(
            lib.sample_value(text, "wxcrypto_request_duration_seconds_count", {"method": "DecryptPush"}), 3
        )

    def test_histograms_are_exported_as_bucket_sum_and_count_only(self):
        samples = self.samples()
        for name, kind in self.wxcrypto_families().items():
            if kind != "histogram":
                continue
            with self.subTest(histogram=name):
                for suffix in ("_bucket", "_sum", "_count"):
                    self.assertIn(name + suffix, samples)
                self.assertNotIn(name, samples)

    # --- names used by the rules and the dashboard --------------------------

    def assert_names_exported(self, where_exprs: list, minimum: int):
        samples = self.samples()
        used = set()
        for where, expr in where_exprs:
            names = lib.promql_metric_names(lib.label_values_metric(expr))
            with self.subTest(where=where):
                self.assertTrue(names, f"no metric found in {expr!r}")
                self.assertEqual(names - set(samples), set(), f"{where}: {expr!r}")
            used |= names
        self.assertGreaterEqual(len(used), minimum, sorted(used))
        return used

    def test_rules_use_only_exported_metrics(self):
        rules = lib.load_yaml_file(lib.deploy_dir() / "prometheus" / "wxcrypto-rules.yaml")
        used = self.assert_names_exported(lib.rules_exprs(rules), minimum=5)
        self.assertIn("wxcrypto_request_duration_seconds_bucket", used)

    def test_dashboard_uses_only_exported_metrics_and_shows_every_family(self):
        dashboard = json.loads((lib.deploy_dir() / "grafana" / "wxcrypto.json").read_text())
        queries = lib.dashboard_queries(dashboard)
        used = self.assert_names_exported(queries, minimum=8)
        families_used = set()
        for name in used:
            for family in self.wxcrypto_families():
                if name == family or name in (family + "_bucket", family + "_sum", family + "_count"):
                    families_used.add(family)
        self.assertEqual(families_used, set(self.wxcrypto_families()), "families without a panel")


if __name__ == "__main__":
    lib.main()
