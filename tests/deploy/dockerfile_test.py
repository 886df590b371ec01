#!/usr/bin/env python3
"""Checks the Dockerfile's recipe, since no Docker engine runs here.

- Two stages on debian:bookworm-slim. The build stage runs
  scripts/install-deps.sh (without --test) and builds with the same CMake
  preset and targets as scripts/run.sh, and the runtime stage copies the two
  binaries from where that preset puts them (CMakePresets.json binaryDir).
- The runtime stage's `apt-get install --no-install-recommends` list is
  exactly the Debian packages of the shared libraries `ldd` reports for the
  built wxcrypto-server and wxcrypto-cli (`dpkg -S`), minus the base image's
  libc6 and libgcc-s1; nothing missing, nothing extra; apt lists deleted.
- USER is numeric and not root; no HEALTHCHECK; EXPOSE 50051 and 9464 (the
  Deployment's container ports); ENTRYPOINT is the copied server and its
  default arguments read /etc/wxcrypto/config.json.
- .dockerignore keeps build trees, .git and node_modules out of the context.
"""

import json
import os
import pathlib
import re
import shlex
import subprocess
import unittest

import deploy_testlib as lib

BASE_IMAGE = "debian:bookworm-slim"
# Packages every debian:bookworm-slim has and the Dockerfile therefore does
# not list: the C library (libc.so.6, libm.so.6, the dynamic loader) and
# libgcc-s1, which libc6 itself depends on. Debian's Essential packages
# (coreutils, dash, dpkg, ...) and their dependencies are in every Debian
# image, and these two are among them;
# test_base_image_packages_come_with_debians_essential_set checks that on
# this Debian 12 machine. Other libraries the base image happens to have
# (libstdc++6 for apt, zlib1g for dpkg) the Dockerfile still lists: what the
# server loads should not depend on what the package tools need.
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1"}
CONFIG_PATH = "/etc/wxcrypto/config.json"


def parse_dockerfile(text: str) -> list:
    """[(instruction, arguments)] with line continuations joined and
    comments, parser directives and blank lines dropped."""
    instructions, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, rest = current.strip().partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        current = ""
    if current:
        raise AssertionError(f"unterminated instruction: {current!r}")
    return instructions


def stages(instructions: list) -> list:
    """[{"from": image, "name": alias, "instructions": [...]}]"""
    out = []
    for keyword, args in instructions:
        if keyword == "FROM":
            words = args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            out.append({"from": words[0], "name": name, "instructions": []})
        elif out:
            out[-1]["instructions"].append((keyword, args))
    return out


def shell_commands(run_args: str) -> list:
    """The simple commands of a RUN's shell line, split at && ; and |, as
    word lists (RUN flags such as --mount dropped)."""
    words = shlex.split(run_args)
    while words and words[0].startswith("--"):
        words.pop(0)
    commands, current = [], []
    for word in words:
        if word in ("&&", ";", "||", "|"):
            if current:
                commands.append(current)
            current = []
        else:
            current.append(word)
    if current:
        commands.append(current)
    return commands


def apt_install_packages(command: list) -> list:
    """Package names of an `apt-get install ...` word list."""
    assert command[:2] == ["apt-get", "install"], command
    return [w for w in command[2:] if not w.startswith("-")]


def exec_form(args: str) -> list:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def ldd_libraries(binary: pathlib.Path) -> list:
    """Resolved paths of every shared library the binary loads (also the
    dynamic loader); fails on a library that is not found."""
    out = lib.run(["ldd", binary]).stdout
    paths = []
    for line in out.splitlines():
        line = line.strip()
        if "not found" in line:
            raise AssertionError(f"{binary}: {line}")
        match = re.match(r"\S+ => (/\S+) \(0x[0-9a-f]+\)$", line) or re.match(r"(/\S+) \(0x[0-9a-f]+\)$", line)
        if match:
            paths.append(match.group(1))
        elif not line.startswith("linux-vdso.so"):
            raise AssertionError(f"{binary}: unexpected ldd line {line!r}")
    return paths


def dpkg_packages_of(paths: list) -> dict:
    """{path: Debian package(s) owning it}. Debian 12 has merged /usr, and
    dpkg knows each file under one of /lib and /usr/lib only, so the path,
    its real path and their /usr twins are all asked (in one dpkg call)."""
    candidates = {}
    for path in paths:
        options = []
        for p in (path, os.path.realpath(path)):
            options += [p, p[len("/usr"):] if p.startswith("/usr/") else "/usr" + p]
        candidates[path] = list(dict.fromkeys(options))
    every = sorted({c for options in candidates.values() for c in options})
    # Exit status 1 only says that some candidates are unknown.
    out = subprocess.run(["dpkg", "-S", *every], capture_output=True, text=True, timeout=120).stdout
    owners = {}
    for line in out.splitlines():
        if line.startswith("diversion by"):
            continue
        names, _, owned = line.rpartition(": ")
        owners[owned] = {n.strip().split(":")[0] for n in names.split(",")}
    result = {}
    for path, options in candidates.items():
        found = next((owners[c] for c in options if c in owners), None)
        if not found:
            raise AssertionError(f"no Debian package owns {path}")
        result[path] = found
    return result


def depends_closure(roots: set) -> set:
    """Installed packages reachable from roots through Depends and
    Pre-Depends (first alternative installed), per dpkg on this machine."""
    seen, todo = set(), list(roots)
    while todo:
        package = todo.pop()
        if package in seen:
            continue
        seen.add(package)
        result = subprocess.run(
            ["dpkg-query", "-W", "-f=${Pre-Depends}, ${Depends}", package],
            capture_output=True, text=True, timeout=30,
        )
        if result.returncode != 0:
            continue
        for clause in result.stdout.split(","):
            for alternative in clause.split("|"):
                name = alternative.strip().split(" ")[0].split(":")[0]
                if name:
                    todo.append(name)
                    break
    return seen


class DockerfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.source = lib.source_dir()
        cls.instructions = parse_dockerfile((cls.source / "Dockerfile").read_text())
        cls.stages = stages(cls.instructions)

    def build_stage(self) -> dict:
        return self.stages[0]

    def runtime_stage(self) -> dict:
        return self.stages[-1]

    def runs(self, stage: dict) -> list:
        return [cmd for kw, args in stage["instructions"] if kw == "RUN" for cmd in shell_commands(args)]

    def last(self, stage: dict, keyword: str):
        values = [args for kw, args in stage["instructions"] if kw == keyword]
        self.assertTrue(values, f"no {keyword} in the runtime stage")
        return values[-1]

    # --- stages and build -------------------------------------------------

    def test_two_stages_on_bookworm_slim(self):
        self.assertEqual([s["from"] for s in self.stages], [BASE_IMAGE, BASE_IMAGE])
        self.assertEqual(self.build_stage()["name"], "build")

    def test_build_stage_installs_with_the_project_script(self):
        installs = [c for c in self.runs(self.build_stage()) if c[0] == "scripts/install-deps.sh"]
        self.assertEqual(len(installs), 1, "RUN scripts/install-deps.sh")
        self.assertEqual(installs[0][1:], [], "build dependencies only: no --test")

    def preset_commands(self, commands: list) -> tuple:
        configure = [c for c in commands if c[:2] == ["cmake", "--preset"]]
        build = [c for c in commands if c[:3] == ["cmake", "--build", "--preset"]]
        self.assertEqual(len(configure), 1, commands)
        self.assertEqual(len(build), 1, commands)
        targets = build[0][build[0].index("--target") + 1:]
        targets = [t for t in targets if not t.startswith("-")]
        return configure[0][2], build[0][3], set(targets)

    def test_build_uses_the_same_preset_and_targets_as_run_sh(self):
        run_sh = [
            shlex.split(line) for line in (self.source / "scripts" / "run.sh").read_text().splitlines()
            if line.startswith("cmake ")
        ]
        expected = self.preset_commands(run_sh)
        docker = self.preset_commands(self.runs(self.build_stage()))
        self.assertEqual(expected[0], "openssl")
        self.assertEqual(docker[:2], expected[:2], "preset of `cmake --preset` / `cmake --build --preset`")
        self.assertEqual(docker[2], {"wxcrypto-server", "wxcrypto-cli"})
        self.assertEqual(docker[2], expected[2])

    def test_runtime_copies_both_binaries_from_the_preset_build_tree(self):
        presets = json.loads((self.source / "CMakePresets.json").read_text())
        preset = next(p for p in presets["configurePresets"] if p["name"] == "openssl")
        workdir = self.last(self.build_stage(), "WORKDIR")
        binary_dir = preset["binaryDir"].replace("${sourceDir}", workdir)
        build_tree = lib.env_path("WXCRYPTO_BINARY_DIR")
        copies = {}
        for kw, args in self.runtime_stage()["instructions"]:
            if kw == "COPY" and args.startswith("--from=build "):
                _, src, dst = args.split()
                copies[src] = dst
        for variable in ("WXCRYPTO_SERVER", "WXCRYPTO_CLI"):
            built = lib.env_path(variable)
            expected_src = f"{binary_dir}/{os.path.relpath(built, build_tree)}"
            with self.subTest(binary=built.name):
                self.assertIn(expected_src, copies)
                self.assertEqual(copies[expected_src], f"/usr/local/bin/{built.name}")

    # --- runtime packages -------------------------------------------------

    def runtime_packages(self) -> list:
        runs = self.runs(self.runtime_stage())
        installs = [c for c in runs if c[:2] == ["apt-get", "install"]]
        self.assertEqual(len(installs), 1, "one apt-get install in the runtime stage")
        self.assertIn("--no-install-recommends", installs[0])
        return apt_install_packages(installs[0])

    def test_runtime_packages_are_exactly_the_binaries_libraries(self):
        listed = self.runtime_packages()
        self.assertEqual(listed, sorted(set(listed)), "one package per line, sorted, no repeats")
        libraries = set()
        for variable in ("WXCRYPTO_SERVER", "WXCRYPTO_CLI"):
            libraries |= set(ldd_libraries(lib.env_path(variable)))
        needed = {}
        for library, packages in dpkg_packages_of(sorted(libraries)).items():
            for package in packages:
                needed.setdefault(package, set()).add(os.path.basename(library))
        if os.environ.get("WXCRYPTO_SANITIZE"):
            # A sanitizer build (scripts/test.sh runs the suite under ASan and
            # TSan) also loads the sanitizer runtimes; the image is built
            # without them.
            needed = {p: libs for p, libs in needed.items()
                      if not re.fullmatch(r"lib(asan|ubsan|tsan|lsan)[0-9]*", p)}
        self.assertGreaterEqual(len(needed), 10, needed)
        missing = {p: sorted(libs) for p, libs in needed.items() if p not in listed and p not in BASE_IMAGE_PACKAGES}
        self.assertEqual(missing, {}, "libraries whose package the runtime stage does not install")
        extra = set(listed) - set(needed)
        self.assertEqual(extra, set(), "packages the binaries do not load")
        self.assertEqual(set(listed) & BASE_IMAGE_PACKAGES, set())

    def test_base_image_packages_come_with_debians_essential_set(self):
        release = lib.run(["sh", "-c", ". /etc/os-release && echo $VERSION_CODENAME"]).stdout.strip()
        self.assertEqual(release, "bookworm", "package names are checked against this machine's Debian")
        essential = {
            line.split()[0]
            for line in lib.run(["dpkg-query", "-W", "-f=${Package} ${Essential}\n"]).stdout.splitlines()
            if line.endswith(" yes")
        }
        self.assertIn("coreutils", essential)
        self.assertEqual(BASE_IMAGE_PACKAGES - depends_closure(essential), set())

    def test_runtime_stage_deletes_apt_lists_in_the_install_layer(self):
        runs = [args for kw, args in self.runtime_stage()["instructions"] if kw == "RUN"]
        install_runs = [r for r in runs if "apt-get install" in r]
        self.assertEqual(len(install_runs), 1)
        commands = shell_commands(install_runs[0])
        self.assertIn(["apt-get", "update"], commands)
        self.assertTrue(
            any(c[:2] == ["rm", "-rf"] and "/var/lib/apt/lists/*" in c for c in commands),
            "rm -rf /var/lib/apt/lists/* in the same RUN",
        )

    # --- runtime image settings -------------------------------------------

    def test_user_is_numeric_and_not_root(self):
        user = self.last(self.runtime_stage(), "USER")
        self.assertRegex(user, r"^\d+(:\d+)?$")
        self.assertTrue(all(int(part) != 0 for part in user.split(":")), user)
        # The Deployment runs as the same user.
        deployment = lib.load_yaml_file(lib.deploy_dir() / "base" / "deployment.yaml")
        pod_sc = deployment["spec"]["template"]["spec"]["securityContext"]
        self.assertEqual(int(user.split(":")[0]), pod_sc["runAsUser"])
        # Nothing after USER switches back.
        keywords = [kw for kw, _ in self.runtime_stage()["instructions"]]
        self.assertEqual(keywords.count("USER"), 1)
        self.assertEqual([kw for kw in keywords[keywords.index("USER"):] if kw == "RUN"], [])

    def test_no_healthcheck(self):
        self.assertNotIn("HEALTHCHECK", [kw for kw, _ in self.instructions])

    def test_exposes_the_grpc_and_metrics_ports_of_the_deployment(self):
        exposed = {int(p.split("/")[0]) for kw, args in self.runtime_stage()["instructions"]
                   if kw == "EXPOSE" for p in args.split()}
        deployment = lib.load_yaml_file(lib.deploy_dir() / "base" / "deployment.yaml")
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(exposed, {50051, 9464})
        self.assertEqual(exposed, {p["containerPort"] for p in container["ports"]})

    def test_entrypoint_is_the_server_reading_the_mounted_config(self):
        entrypoint = exec_form(self.last(self.runtime_stage(), "ENTRYPOINT"))
        cmd = exec_form(self.last(self.runtime_stage(), "CMD"))
        self.assertEqual(entrypoint, ["/usr/local/bin/wxcrypto-server"])
        argv = entrypoint + cmd
        self.assertTrue(
            f"--config={CONFIG_PATH}" in argv
            or any(a == "--config" and b == CONFIG_PATH for a, b in zip(argv, argv[1:])),
            argv,
        )

    def test_dockerignore_keeps_build_trees_and_git_out(self):
        lines = {
            line.strip() for line in (self.source / ".dockerignore").read_text().splitlines()
            if line.strip() and not line.startswith("#")
        }
        for pattern in ("build/", ".git", "**/node_modules/"):
            self.assertIn(pattern, lines)
        # The build needs the sources, scripts, protos and CMake files.
        for needed in ("server", "client", "proto", "scripts", "cmake", "tests", "CMakeLists.txt",
                       "CMakePresets.json"):
            self.assertFalse(any(line.rstrip("/") == needed for line in lines), needed)


class ParserTest(unittest.TestCase):
    """The small Dockerfile parser above, on a known input."""

    def test_joins_continuations_and_drops_comments(self):
        parsed = parse_dockerfile(
            "# syntax=docker/dockerfile:1\nFROM a AS b\n# note\nRUN x \\\n  # inner\n  && y\nUSER 1:1\n"
        )
        self.assertEqual(parsed, [("FROM", "a AS b"), ("RUN", "x  && y"), ("USER", "1:1")])
        self.assertEqual(shell_commands("--mount=type=cache,target=/c x a && y"), [["x", "a"], ["y"]])


if __name__ == "__main__":
    lib.main()
