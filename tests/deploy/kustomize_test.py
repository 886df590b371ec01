#!/usr/bin/env python3
"""Renders deploy/base and deploy/overlays/example with `kubectl kustomize`
and checks the manifests: replicas, gRPC probes, resources, the Kubernetes
"restricted" Pod Security Standard, the config Secret mounted as a directory,
the grace period against the server's drain and shutdown flags, and that the
PodDisruptionBudget, HorizontalPodAutoscaler, Service, NetworkPolicies and
ServiceMonitor all point at the Deployment's pods and ports."""

import base64
import json
import os
import pathlib
import shutil
import unittest

import deploy_testlib as lib

HEALTH_SERVICE = "wxcrypto.v1.CryptoService"
GRPC_PORT = 50051
METRICS_PORT = 9464
CONFIG_PATH = "/etc/wxcrypto/config.json"
# The server's defaults (README "Server"), used when a flag is not in args.
DEFAULT_DRAIN_SECONDS = 5
DEFAULT_SHUTDOWN_TIMEOUT_SECONDS = 10
# Volume types the "restricted" Pod Security Standard allows.
RESTRICTED_VOLUME_TYPES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
    "persistentVolumeClaim", "projected", "secret",
}


def render(kustomization: pathlib.Path) -> list:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise AssertionError("kubectl is not on PATH (it renders the kustomizations)")
    result = lib.run([kubectl, "kustomize", str(kustomization)], timeout=120)
    return lib.load_yaml_documents(result.stdout)


def by_kind(docs: list, kind: str) -> list:
    return [d for d in docs if d.get("kind") == kind]


def one(docs: list, kind: str) -> dict:
    found = by_kind(docs, kind)
    if len(found) != 1:
        raise AssertionError(f"expected one {kind}, found {len(found)}")
    return found[0]


def selects(selector: dict, labels: dict) -> bool:
    """Whether a label selector (matchLabels and matchExpressions)
    matches `labels`. An empty selector matches everything."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def flag_value(args: list, name: str):
    for arg in args:
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    if f"--{name}" in args:
        return args[args.index(f"--{name}") + 1]
    return None


class RenderedManifests:
    """Checks shared by the base and the example overlay."""

    docs: list = []

    # --- Deployment ------------------------------------------------------

    def deployment(self) -> dict:
        return one(self.docs, "Deployment")

    def pod_spec(self) -> dict:
        return self.deployment()["spec"]["template"]["spec"]

    def pod_labels(self) -> dict:
        return self.deployment()["spec"]["template"]["metadata"]["labels"]

    def container(self) -> dict:
        containers = self.pod_spec()["containers"]
        self.assertEqual(len(containers), 1, "one container: wxcrypto-server")
        return containers[0]

    def test_deployment_runs_three_replicas_selecting_its_pods(self):
        deployment = self.deployment()
        self.assertEqual(deployment["spec"]["replicas"], 3)
        self.assertTrue(selects(deployment["spec"]["selector"], self.pod_labels()))

    def test_probes_are_native_grpc_against_the_health_service(self):
        container = self.container()
        for probe_name in ("livenessProbe", "readinessProbe"):
            with self.subTest(probe=probe_name):
                probe = container.get(probe_name)
                self.assertIsNotNone(probe, f"{probe_name} missing")
                self.assertIn("grpc", probe, f"{probe_name} must be a native gRPC probe")
                self.assertEqual(probe["grpc"]["port"], GRPC_PORT)
                self.assertIn(probe["grpc"].get("service", ""), ("", HEALTH_SERVICE))
        # Readiness follows the CryptoService, which turns NOT_SERVING on SIGTERM.
        self.assertEqual(container["readinessProbe"]["grpc"].get("service"), HEALTH_SERVICE)

    def test_memory_request_equals_limit(self):
        resources = self.container()["resources"]
        self.assertIn("memory", resources["requests"])
        self.assertEqual(resources["requests"]["memory"], resources["limits"]["memory"])
        self.assertIn("cpu", resources["requests"], "the HPA scales on CPU use vs. request")

    def test_pod_meets_the_restricted_pod_security_standard(self):
        pod = self.pod_spec()
        for host_field in ("hostNetwork", "hostPID", "hostIPC"):
            self.assertFalse(pod.get(host_field, False), host_field)
        pod_sc = pod.get("securityContext") or {}
        self.assertIs(pod_sc.get("runAsNonRoot"), True)
        self.assertIsInstance(pod_sc.get("runAsUser"), int)
        self.assertGreater(pod_sc["runAsUser"], 0)
        self.assertEqual((pod_sc.get("seccompProfile") or {}).get("type"), "RuntimeDefault")
        for volume in pod.get("volumes", []):
            kinds = set(volume) - {"name"}
            self.assertTrue(kinds <= RESTRICTED_VOLUME_TYPES, f"volume {volume}")
        for container in pod["containers"] + pod.get("initContainers", []):
            with self.subTest(container=container["name"]):
                sc = container.get("securityContext") or {}
                self.assertIs(sc.get("allowPrivilegeEscalation"), False)
                self.assertFalse(sc.get("privileged", False))
                self.assertIs(sc.get("runAsNonRoot"), True)
                self.assertIsInstance(sc.get("runAsUser"), int)
                self.assertGreater(sc["runAsUser"], 0)
                self.assertEqual((sc.get("seccompProfile") or {}).get("type"), "RuntimeDefault")
                capabilities = sc.get("capabilities") or {}
                self.assertIn("ALL", capabilities.get("drop", []))
                self.assertTrue(set(capabilities.get("add", [])) <= {"NET_BIND_SERVICE"})
                self.assertIs(sc.get("readOnlyRootFilesystem"), True)
                for port in container.get("ports", []):
                    self.assertNotIn("hostPort", port)

    def test_config_secret_is_mounted_as_a_directory_without_subpath(self):
        container = self.container()
        args = container.get("args", []) + container.get("command", [])
        self.assertEqual(flag_value(args, "config"), CONFIG_PATH)
        volumes = {v["name"]: v for v in self.pod_spec()["volumes"]}
        mounts = [m for m in container["volumeMounts"] if m["mountPath"] == os.path.dirname(CONFIG_PATH)]
        self.assertEqual(len(mounts), 1, f"one mount at {os.path.dirname(CONFIG_PATH)}")
        mount = mounts[0]
        self.assertNotIn("subPath", mount, "a subPath mount never sees a rotated Secret")
        self.assertNotIn("subPathExpr", mount)
        self.assertIs(mount.get("readOnly"), True)
        secret = volumes[mount["name"]].get("secret")
        self.assertIsNotNone(secret, "the config comes from a Secret")
        items = secret.get("items")
        if items is not None:
            self.assertIn("config.json", [i["path"] for i in items])
        # No other mount of that volume may use subPath either.
        for m in container["volumeMounts"]:
            if m["name"] == mount["name"]:
                self.assertNotIn("subPath", m)

    def test_grace_period_outlasts_drain_and_shutdown(self):
        args = self.container().get("args", [])
        drain = float(flag_value(args, "drain-seconds") or DEFAULT_DRAIN_SECONDS)
        shutdown = float(flag_value(args, "shutdown-timeout-seconds") or DEFAULT_SHUTDOWN_TIMEOUT_SECONDS)
        grace = self.pod_spec().get("terminationGracePeriodSeconds", 30)
        self.assertGreater(grace, drain + shutdown)

    def test_container_ports_are_named_grpc_and_metrics(self):
        ports = {p["name"]: p["containerPort"] for p in self.container()["ports"]}
        self.assertEqual(ports, {"grpc": GRPC_PORT, "metrics": METRICS_PORT})
        args = self.container().get("args", [])
        for flag, port in (("listen", GRPC_PORT), ("metrics-listen", METRICS_PORT)):
            value = flag_value(args, flag)
            if value is not None:
                self.assertTrue(value.endswith(f":{port}"), f"--{flag}={value}")

    # --- PodDisruptionBudget, HPA, Service --------------------------------

    def test_pod_disruption_budget_selects_the_pods(self):
        pdb = one(self.docs, "PodDisruptionBudget")
        self.assertEqual(pdb["apiVersion"], "policy/v1")
        self.assertTrue(pdb["spec"].get("selector"), "a PDB without selector selects nothing")
        self.assertTrue(selects(pdb["spec"]["selector"], self.pod_labels()))
        self.assertTrue("maxUnavailable" in pdb["spec"] or "minAvailable" in pdb["spec"])

    def test_hpa_scales_the_deployment_on_cpu(self):
        hpa = one(self.docs, "HorizontalPodAutoscaler")
        self.assertEqual(hpa["apiVersion"], "autoscaling/v2")
        target = hpa["spec"]["scaleTargetRef"]
        self.assertEqual((target["kind"], target["name"]), ("Deployment", self.deployment()["metadata"]["name"]))
        resources = [m["resource"]["name"] for m in hpa["spec"]["metrics"] if m["type"] == "Resource"]
        self.assertIn("cpu", resources)
        self.assertLessEqual(hpa["spec"]["minReplicas"], self.deployment()["spec"]["replicas"])
        self.assertGreaterEqual(hpa["spec"]["minReplicas"], 2, "one pod left during a drain")
        self.assertGreater(hpa["spec"]["maxReplicas"], hpa["spec"]["minReplicas"])

    def service(self) -> dict:
        return one(self.docs, "Service")

    def test_service_has_ports_named_grpc_and_metrics_on_the_pods(self):
        service = self.service()
        self.assertTrue(selects({"matchLabels": service["spec"]["selector"]}, self.pod_labels()))
        ports = {p["name"]: p for p in service["spec"]["ports"]}
        self.assertEqual(set(ports), {"grpc", "metrics"})
        container_ports = {p["name"]: p["containerPort"] for p in self.container()["ports"]}
        for name, port in ports.items():
            target = port.get("targetPort", port["port"])
            self.assertIn(target, (name, container_ports[name]), f"port {name}")

    # --- NetworkPolicy ----------------------------------------------------

    def test_network_policy_denies_ingress_by_default(self):
        policies = by_kind(self.docs, "NetworkPolicy")
        deny = [
            p for p in policies
            if p["spec"].get("podSelector") in ({}, None)
            and "Ingress" in p["spec"].get("policyTypes", [])
            and not p["spec"].get("ingress")
        ]
        self.assertEqual(len(deny), 1, "one default-deny-ingress policy (podSelector {})")

    def test_network_policy_allows_gateways_on_grpc_and_prometheus_on_metrics(self):
        allows = [
            p for p in by_kind(self.docs, "NetworkPolicy")
            if p["spec"].get("ingress") and selects(p["spec"]["podSelector"], self.pod_labels())
        ]
        self.assertTrue(allows, "a policy that lets traffic in to the wxcrypto pods")
        by_port = {}
        for policy in allows:
            self.assertIn("Ingress", policy["spec"]["policyTypes"])
            for rule in policy["spec"]["ingress"]:
                self.assertTrue(rule.get("from"), "every allow rule names its peers")
                self.assertTrue(rule.get("ports"), "every allow rule names its ports")
                for port in rule["ports"]:
                    by_port.setdefault(port["port"], []).extend(rule["from"])
        self.assertEqual(set(by_port), {"grpc", "metrics"})
        gateway = {"app.kubernetes.io/component": "wechat-gateway"}
        self.assertTrue(
            any(selects(peer.get("podSelector") or {"matchLabels": {"x": "never"}}, gateway)
                for peer in by_port["grpc"]),
            "gateway pods reach grpc",
        )
        self.assertTrue(
            all("podSelector" in peer for peer in by_port["grpc"]),
            "only labelled pods reach grpc, never whole namespaces",
        )
        monitoring = {"kubernetes.io/metadata.name": "monitoring"}
        self.assertTrue(
            any(selects(peer.get("namespaceSelector") or {"matchLabels": {"x": "never"}}, monitoring)
                for peer in by_port["metrics"]),
            "the monitoring namespace reaches metrics",
        )

    # --- Prometheus Operator ------------------------------------------------

    def test_service_monitor_scrapes_the_metrics_port(self):
        monitor = one(self.docs, "ServiceMonitor")
        self.assertEqual(monitor["apiVersion"], "monitoring.coreos.com/v1")
        self.assertTrue(selects(monitor["spec"]["selector"], self.service()["metadata"]["labels"]))
        endpoints = monitor["spec"]["endpoints"]
        self.assertEqual([e["port"] for e in endpoints], ["metrics"])
        self.assertEqual(endpoints[0].get("path", "/metrics"), "/metrics")
        # Only the wxcrypto Service matches (no double scrapes).
        matching = [s for s in by_kind(self.docs, "Service")
                    if selects(monitor["spec"]["selector"], s["metadata"].get("labels") or {})]
        self.assertEqual(len(matching), 1)

    def test_prometheus_rule_is_present(self):
        rule = one(self.docs, "PrometheusRule")
        self.assertEqual(rule["apiVersion"], "monitoring.coreos.com/v1")
        self.assertTrue(rule["spec"]["groups"])


class BaseTest(RenderedManifests, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.docs = render(lib.deploy_dir() / "base")

    def test_base_leaves_the_secret_and_namespace_to_overlays(self):
        self.assertEqual(by_kind(self.docs, "Secret"), [])
        self.assertEqual(by_kind(self.docs, "Namespace"), [])


class ExampleOverlayTest(RenderedManifests, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.overlay = lib.deploy_dir() / "overlays" / "example"
        cls.docs = render(cls.overlay)

    def test_everything_is_in_the_wxcrypto_namespace(self):
        for doc in self.docs:
            if doc["kind"] == "Namespace":
                continue
            with self.subTest(kind=doc["kind"], name=doc["metadata"]["name"]):
                self.assertEqual(doc["metadata"].get("namespace"), "wxcrypto")

    def test_namespace_enforces_the_restricted_standard(self):
        namespace = one(self.docs, "Namespace")
        self.assertEqual(namespace["metadata"]["name"], "wxcrypto")
        labels = namespace["metadata"]["labels"]
        self.assertEqual(labels.get("pod-security.kubernetes.io/enforce"), "restricted")

    def test_secret_holds_the_example_config_and_is_the_one_mounted(self):
        secret = one(self.docs, "Secret")
        volumes = [v for v in self.pod_spec()["volumes"] if "secret" in v]
        self.assertEqual([v["secret"]["secretName"] for v in volumes], [secret["metadata"]["name"]])
        data = base64.b64decode(secret["data"]["config.json"])
        self.assertEqual(data, (self.overlay / "config.json").read_bytes())
        config = json.loads(data)
        app_ids = {app["app_id"] for app in config["apps"]}
        self.assertIn("wxba5fad812f8e6fb9", app_ids)

    def test_image_is_set_with_a_tag(self):
        image = self.container()["image"]
        self.assertRegex(image, r"^[^:@]+(:[\w][\w.-]*|@sha256:[0-9a-f]{64})$")

    def test_dashboard_config_map_holds_the_dashboard(self):
        maps = [m for m in by_kind(self.docs, "ConfigMap") if "wxcrypto.json" in m.get("data", {})]
        self.assertEqual(len(maps), 1)
        self.assertEqual(maps[0]["metadata"]["labels"].get("grafana_dashboard"), "1")
        on_disk = json.loads((lib.deploy_dir() / "grafana" / "wxcrypto.json").read_text())
        self.assertEqual(json.loads(maps[0]["data"]["wxcrypto.json"]), on_disk)

    def test_overlay_warns_that_its_keys_are_public(self):
        text = (self.overlay / "kustomization.yaml").read_text()
        self.assertIn("PUBLIC KEYS", text)


if __name__ == "__main__":
    lib.main()
