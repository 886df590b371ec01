"""Shared helpers of the deploy tests (tests/deploy/*_test.py).

Paths come from the environment that tests/deploy/CMakeLists.txt sets:
  WXCRYPTO_SOURCE_DIR   the repository
  WXCRYPTO_BINARY_DIR   the CMake build tree
  WXCRYPTO_SERVER       the built wxcrypto-server
  WXCRYPTO_CLI          the built wxcrypto-cli

Every process a helper starts listens on 127.0.0.1 only, on a port the
kernel picked, and is stopped by the helper (also when a test fails).
"""

import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.request


def env_path(name: str) -> pathlib.Path:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run this test through ctest")
    return pathlib.Path(value)


def source_dir() -> pathlib.Path:
    return env_path("WXCRYPTO_SOURCE_DIR")


def deploy_dir() -> pathlib.Path:
    return source_dir() / "deploy"


def load_yaml_documents(text: str) -> list:
    import yaml  # python3-yaml, installed by scripts/install-deps.sh --test

    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def load_yaml_file(path: pathlib.Path):
    import yaml

    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def run(args, timeout=60, check=True, **kwargs) -> subprocess.CompletedProcess:
    """Runs a command, capturing text output, with a hard time limit."""
    result = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(str(a) for a in args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (for programs that
    cannot be told to pick their own)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 5) -> bytes:
    assert url.startswith("http://127.0.0.1:"), url
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def http_get_json(url: str, timeout: float = 5):
    return json.loads(http_get(url, timeout))


def wait_for(predicate, timeout: float, interval: float = 0.2, what: str = ""):
    """Calls predicate until it returns a truthy value (returned) or
    `timeout` seconds pass (AssertionError). Exceptions count as falsy."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last_error = e
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f} s waiting for {what or predicate}"
                + (f" (last error: {last_error!r})" if last_error else "")
            )
        time.sleep(interval)


class ServerProcess:
    """wxcrypto-server on 127.0.0.1 free ports, as a context manager.

    Ports are read from the server's `"msg":"serving"` log line. Stopping
    sends SIGTERM (the server drains for --drain-seconds, 0 here) and kills
    it if it has not exited within 15 s.
    """

    def __init__(self, extra_args=()):
        self.args = [
            str(env_path("WXCRYPTO_SERVER")),
            "--listen=127.0.0.1:0",
            "--metrics-listen=127.0.0.1:0",
            "--drain-seconds=0",
            "--shutdown-timeout-seconds=2",
            *extra_args,
        ]
        self.process = None
        self.log_lines = []
        self.grpc_port = 0
        self.metrics_port = 0
        self._serving = threading.Event()

    def __enter__(self):
        self.process = subprocess.Popen(
            self.args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._read_log, daemon=True).start()
        if not self._serving.wait(timeout=20):
            self.stop()
            raise AssertionError(
                "wxcrypto-server did not log \"serving\" within 20 s:\n"
                + "\n".join(self.log_lines)
            )
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def _read_log(self):
        for line in self.process.stderr:
            self.log_lines.append(line.rstrip("\n"))
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("msg") == "serving":
                self.grpc_port = int(entry["grpc_port"])
                self.metrics_port = int(entry["metrics_port"])
                self._serving.set()

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def scrape(self) -> str:
        return http_get(self.metrics_url).decode("utf-8")

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def cli(*args, check_codes=(0,), timeout=20) -> subprocess.CompletedProcess:
    """Runs wxcrypto-cli; asserts its exit code is one of check_codes."""
    result = run([env_path("WXCRYPTO_CLI"), *args], timeout=timeout, check=False)
    if result.returncode not in check_codes:
        raise AssertionError(
            f"wxcrypto-cli {' '.join(args)} exited {result.returncode}, "
            f"wanted {check_codes}\nstdout: {result.stdout}\nstderr: {result.stderr}"
        )
    return result


def cli_error_reason(result: subprocess.CompletedProcess) -> str:
    """The error-reason word of a failed RPC command (its stderr JSON line)."""
    for line in result.stderr.splitlines():
        try:
            return json.loads(line)["error"].get("reason", "")
        except (ValueError, KeyError, TypeError):
            continue
    return ""


# --- Prometheus text exposition and PromQL -------------------------------

_SAMPLE_NAME = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{|\s)")


def exposition_samples(text: str) -> dict:
    """{sample name: number of sample lines} of a text exposition. For a
    histogram family `x` the sample names are x_bucket, x_sum and x_count:
    `x` itself is not a series one can query."""
    names = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE_NAME.match(line)
        if match:
            names[match.group(1)] = names.get(match.group(1), 0) + 1
    return names


def exposition_types(text: str) -> dict:
    """{family name: type} from the # TYPE lines."""
    types = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[:2] == ["#", "TYPE"]:
            types[parts[2]] = parts[3]
    return types


def sample_value(text: str, name: str, labels: dict) -> float:
    """The value of the one sample `name{labels...}` (labels may be a
    subset of the sample's); raises if there is not exactly one."""
    found = []
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        series, _, value = line.rpartition(" ")
        if series.split("{")[0] != name:
            continue
        series_labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', series))
        if all(series_labels.get(k) == v for k, v in labels.items()):
            found.append(float(value))
    if len(found) != 1:
        raise AssertionError(f"{len(found)} samples match {name}{labels}")
    return found[0]


_PROMQL_KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
    "group_right", "bool", "offset", "inf", "nan", "start", "end",
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
    "count_values", "bottomk", "topk", "quantile", "atan2",
}


def promql_metric_names(expr: str) -> set:
    """The metric names a PromQL expression (or Grafana query) selects.

    Removes, in order: Grafana variables, string literals, label matchers,
    range and subquery brackets, `by (...)`-style label lists and `offset`
    durations; what is left that is an identifier not followed by `(` and
    not a keyword or aggregation is a metric name.
    """
    s = re.sub(r"\$\{[^}]*\}|\$\w+", " ", expr)
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', s)
    s = re.sub(r"\{[^{}]*\}", " ", s)
    s = re.sub(r"\[[^\[\]]*\]", " ", s)
    s = re.sub(
        r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", s
    )
    s = re.sub(r"\boffset\s+-?[0-9a-z]+", " ", s)
    names = set()
    for match in re.finditer(r"(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", s):
        name, call = match.group(1), match.group(2)
        if call or name in _PROMQL_KEYWORDS:
            continue
        names.add(name)
    return names


def rules_exprs(rules_doc: dict) -> list:
    """(rule name, expr) of every rule in a Prometheus rules document."""
    out = []
    for group in rules_doc["groups"]:
        for rule in group["rules"]:
            out.append((rule.get("alert") or rule.get("record"), rule["expr"]))
    return out


def dashboard_queries(dashboard: dict) -> list:
    """(where, query) of every panel target and templating query."""
    out = []

    def walk_panels(panels):
        for panel in panels:
            for target in panel.get("targets", []):
                if target.get("expr"):
                    out.append((f"panel {panel.get('title')!r}", target["expr"]))
            walk_panels(panel.get("panels", []))

    walk_panels(dashboard.get("panels", []))
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if query:
            out.append((f"variable {variable['name']!r}", query))
    return out


def label_values_metric(query: str) -> str:
    """Grafana's label_values(metric{...}, label) -> the PromQL selector."""
    match = re.fullmatch(r"\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*", query, re.S)
    return match.group(1) if match else query


def main():
    """unittest.main with verbose output; exits non-zero on any failure."""
    program = unittest.main(verbosity=2, exit=False)
    result = program.result
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = max(0, result.testsRun - failed - len(result.skipped))
    print(f"{passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 and result.testsRun > 0 else 1)
