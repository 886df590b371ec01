#!/usr/bin/env python3
"""Writes deploy/base/prometheusrule.yaml from deploy/prometheus/wxcrypto-rules.yaml.

The plain rules file is the single source of wxcrypto's alerts (promtool
checks and unit-tests it); the Prometheus Operator needs the same groups
inside a PrometheusRule. This copies the rules file's text, comments
included, under `spec:`, so the two never differ. Run it after editing the
rules; tests/deploy/promtool_test.py fails until you do.

    python3 deploy/prometheus/render-prometheusrule.py [--check]

--check writes nothing and exits 1 if the PrometheusRule is out of date.
"""

import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
RULES = HERE / "wxcrypto-rules.yaml"
TARGET = HERE.parent / "base" / "prometheusrule.yaml"

HEADER = """\
---
# GENERATED from deploy/prometheus/wxcrypto-rules.yaml by
# deploy/prometheus/render-prometheusrule.py: edit the rules file, then run
# the script. The Prometheus Operator loads these groups; a Prometheus
# selects PrometheusRules by label (see deploy/README.md).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: wxcrypto
  labels:
    app.kubernetes.io/name: wxcrypto
spec:
"""


def render() -> str:
    lines = RULES.read_text(encoding="utf-8").splitlines()
    # Drop the document start and the file's leading comment block: the
    # header above replaces them. Everything from `groups:` on is copied.
    start = next(i for i, line in enumerate(lines) if line.startswith("groups:"))
    body = ["  " + line if line.strip() else "" for line in lines[start:]]
    return HEADER + "\n".join(body) + "\n"


def main() -> int:
    text = render()
    if sys.argv[1:] == ["--check"]:
        if TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET} is out of date: run {sys.argv[0]}", file=sys.stderr)
            return 1
        return 0
    if sys.argv[1:]:
        print(__doc__, file=sys.stderr)
        return 2
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
