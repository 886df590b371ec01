#!/usr/bin/env python3
"""A real Prometheus scrapes a real wxcrypto-server and evaluates the rules
and the dashboard's queries.

Starts wxcrypto-server with the example overlay's config
(deploy/overlays/example/config.json, which therefore must load), and
Debian's prometheus on 127.0.0.1 with a scrape interval of 1 s, the rules
file loaded and a temporary TSDB. Then: the target is up, calls made with
wxcrypto-cli show up in sum(wxcrypto_requests_total), every alerting rule
evaluates without error, and every query of the Grafana dashboard runs and
returns data. Both processes are stopped whatever happens; every wait is
bounded.
"""

import json
import pathlib
import shutil
import signal
import subprocess
import tempfile
import unittest
import urllib.parse

import deploy_testlib as lib

CALLS = 20
# Grafana's variables, as the dashboard's "All" selection expands them.
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$namespace": ".*",
    "$job": ".*",
}


class PrometheusProcess:
    """Debian's prometheus on 127.0.0.1, scraping one wxcrypto-server."""

    def __init__(self, workdir: pathlib.Path, metrics_port: int):
        self.workdir = workdir
        self.config = workdir / "prometheus.yml"
        rules = lib.deploy_dir() / "prometheus" / "wxcrypto-rules.yaml"
        self.config.write_text(
            json.dumps(  # JSON is YAML
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "rule_files": [str(rules)],
                    "scrape_configs": [
                        {
                            "job_name": "wxcrypto",
                            "metrics_path": "/metrics",
                            "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}],
                        }
                    ],
                }
            )
        )
        self.log = open(workdir / "prometheus.log", "w")
        self.process = None
        self.url = ""

    def start(self):
        # Prometheus cannot pick its own port: take a free one, and try
        # again with another if something else took it in between.
        for _ in range(3):
            port = lib.free_port()
            self.url = f"http://127.0.0.1:{port}"
            self.process = subprocess.Popen(
                [
                    shutil.which("prometheus") or "prometheus",
                    f"--config.file={self.config}",
                    f"--storage.tsdb.path={self.workdir / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--log.level=warn",
                ],
                stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )
            try:
                lib.wait_for(self.ready, timeout=60, what="Prometheus /-/ready")
            except AssertionError as e:
                raise AssertionError(f"{e}\nprometheus log:\n{self.log_text()}") from None
            if self.process.poll() is None:
                return
        raise AssertionError(f"prometheus exited at start three times:\n{self.log_text()}")

    def ready(self) -> bool:
        if self.process.poll() is not None:
            return True  # exited (port taken?): start() tries again
        return lib.http_get(self.url + "/-/ready", timeout=2) is not None

    def log_text(self) -> str:
        self.log.flush()
        return (self.workdir / "prometheus.log").read_text()[-4000:]

    def api(self, path: str, **params):
        query = urllib.parse.urlencode(params)
        reply = lib.http_get_json(f"{self.url}/api/v1/{path}" + (f"?{query}" if query else ""))
        if reply.get("status") != "success":
            raise AssertionError(f"{path} {params}: {reply}")
        return reply["data"]

    def query(self, expr: str) -> list:
        return self.api("query", query=expr)["result"]

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.log.close()


class PrometheusScrapeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("prometheus") is None:
            raise AssertionError("prometheus is not on PATH (scripts/install-deps.sh --test)")
        cls.tmp = tempfile.TemporaryDirectory()
        cls.example_config = lib.deploy_dir() / "overlays" / "example" / "config.json"
        cls.server = lib.ServerProcess([f"--config={cls.example_config}"])
        cls.prometheus = None
        cls.server.__enter__()
        try:
            cls.prometheus = PrometheusProcess(pathlib.Path(cls.tmp.name), cls.server.metrics_port)
            cls.prometheus.start()
            cls.baseline = cls.wait_for_first_scrape()
            cls.drive_traffic()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.prometheus is not None:
                cls.prometheus.stop()
        finally:
            cls.server.stop()
            cls.tmp.cleanup()

    @classmethod
    def total_requests(cls):
        result = cls.prometheus.query("sum(wxcrypto_requests_total)")
        return float(result[0]["value"][1]) if result else None

    @classmethod
    def wait_for_first_scrape(cls) -> float:
        value = lib.wait_for(
            lambda: (cls.total_requests(),) if cls.total_requests() is not None else None,
            timeout=60, what="a first scrape of wxcrypto-server",
        )
        return value[0]

    @classmethod
    def drive_traffic(cls):
        addr = ["--addr", cls.server.addr]
        app = json.loads(cls.example_config.read_text())["apps"][0]
        sealed = json.loads(
            lib.cli(
                "seal-push", "--token", app["token"], "--encoding-aes-key", app["encoding_aes_key"],
                "--receive-id", app["app_id"], "--message", "<xml><Content>hi</Content></xml>",
            ).stdout
        )
        lib.cli("decrypt-push", *addr, "--app-id", app["app_id"], "--query", sealed["query"],
                "--body", sealed["body"])
        lib.cli("decrypt-push", *addr, "--app-id", app["app_id"], "--query", sealed["query"],
                "--msg-signature", "0" * 40, "--body", sealed["body"], check_codes=(1,))
        for _ in range(CALLS - 2):
            lib.cli("verify-raw-data", *addr, "--raw-data", "x", "--signature", "y", "--session-key", "z")

    def test_target_is_up(self):
        targets = self.prometheus.api("targets")["activeTargets"]
        self.assertEqual(len(targets), 1)
        lib.wait_for(
            lambda: self.prometheus.api("targets")["activeTargets"][0]["health"] == "up",
            timeout=30, what="the wxcrypto target to be up",
        )

    def test_calls_show_up_in_prometheus(self):
        total = lib.wait_for(
            lambda: (v := self.total_requests()) is not None and v >= self.baseline + CALLS and v,
            timeout=60, what=f"sum(wxcrypto_requests_total) to rise by {CALLS} from {self.baseline}",
        )
        self.assertGreaterEqual(total, self.baseline + CALLS)
        failures = lib.wait_for(
            lambda: self.prometheus.query('sum(wxcrypto_failures_total{reason="SIGNATURE_MISMATCH"})'),
            timeout=30, what="the signature failure in Prometheus",
        )
        self.assertEqual(float(failures[0]["value"][1]), 1)

    def test_build_info_and_example_apps(self):
        info = lib.wait_for(lambda: self.prometheus.query("wxcrypto_build_info"), timeout=30)
        self.assertEqual(info[0]["metric"]["crypto_provider"], "openssl")
        apps = self.prometheus.query("wxcrypto_apps_configured")
        example_apps = json.loads(self.example_config.read_text())["apps"]
        self.assertEqual(float(apps[0]["value"][1]), len(example_apps))

    def test_every_rule_evaluates_without_error(self):
        def evaluated_rules():
            rules = [r for g in self.prometheus.api("rules")["groups"] for r in g["rules"]]
            if any(r.get("lastEvaluation", "").startswith("0001-") for r in rules):
                return None  # not evaluated yet
            return rules

        rules = lib.wait_for(evaluated_rules, timeout=30, what="every rule to be evaluated")
        self.assertEqual(len(rules), 5)
        for rule in rules:
            with self.subTest(rule=rule["name"]):
                self.assertEqual(rule["health"], "ok", rule.get("lastError"))

    def test_every_dashboard_query_runs_and_returns_data(self):
        # Wait until rates have two samples of the traffic.
        lib.wait_for(
            lambda: self.prometheus.query("sum(rate(wxcrypto_requests_total[1m])) > 0"),
            timeout=30, what="a non-zero request rate",
        )
        dashboard = json.loads((lib.deploy_dir() / "grafana" / "wxcrypto.json").read_text())
        queries = lib.dashboard_queries(dashboard)
        self.assertGreaterEqual(len(queries), 10)
        for where, query in queries:
            expr = lib.label_values_metric(query)
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            with self.subTest(where=where):
                self.assertNotIn("$", expr, "a Grafana variable this test does not know")
                self.prometheus.query(expr)  # raises unless Prometheus accepts it
                # Series born with the traffic (wxcrypto_failures_total)
                # need two scrapes before rate() sees them.
                lib.wait_for(lambda: self.prometheus.query(expr), timeout=20,
                             what=f"{where}: data for {expr!r}")


if __name__ == "__main__":
    lib.main()
