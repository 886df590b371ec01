#!/usr/bin/env python3
"""Lints every YAML file under deploy/ with yamllint --strict and
deploy/.yamllint, and checks that the lint actually covered them."""

import pathlib
import shutil
import tempfile
import unittest

import deploy_testlib as lib


class YamllintTest(unittest.TestCase):
    def test_deploy_yaml_passes_yamllint_strict(self):
        yamllint = shutil.which("yamllint")
        self.assertIsNotNone(yamllint, "yamllint is not on PATH (scripts/install-deps.sh --test)")
        deploy = lib.deploy_dir()
        result = lib.run(
            [yamllint, "--strict", "-f", "parsable", "-c", deploy / ".yamllint", deploy],
            check=False,
        )
        self.assertEqual(result.returncode, 0, f"yamllint:\n{result.stdout}{result.stderr}")

    def test_yamllint_sees_every_yaml_file(self):
        # `yamllint --list-files` shows what the run above lints: a config
        # that ignored files would make the lint pass vacuously.
        deploy = lib.deploy_dir()
        listed = lib.run(
            ["yamllint", "--list-files", "-c", deploy / ".yamllint", deploy]
        ).stdout.split()
        on_disk = {str(p) for p in deploy.rglob("*") if p.suffix in (".yaml", ".yml")}
        self.assertGreaterEqual(len(on_disk), 12)
        missing = on_disk - set(listed)
        self.assertEqual(missing, set(), "YAML files yamllint does not lint")

    def test_yamllint_rejects_a_bad_file(self):
        # The same command fails on a file with a duplicate key and trailing
        # spaces: the lint is live.
        with tempfile.TemporaryDirectory() as tmp:
            bad = pathlib.Path(tmp) / "bad.yaml"
            bad.write_text("---\na: 1\na: 2   \n")
            result = lib.run(
                ["yamllint", "--strict", "-c", lib.deploy_dir() / ".yamllint", bad], check=False
            )
            self.assertNotEqual(result.returncode, 0)


if __name__ == "__main__":
    lib.main()
