#!/usr/bin/env python3
"""Checks that Cargo.toml's `rust-version` is exactly the oldest Rust that can build kiln.

Two things set that version:

* the locked dependencies: each package in `cargo metadata --format-version 1 --locked`
  carries the `rust_version` its own manifest declares (cargo refuses to build a package
  with an older rustc, https://doc.rust-lang.org/cargo/reference/rust-version.html);
* kiln's own code: clippy's `incompatible_msrv` lint reports every use of a standard
  library item marked stable after the MSRV it is given
  (https://rust-lang.github.io/rust-clippy/master/index.html#incompatible_msrv). The
  script runs it with the dependencies' version as MSRV (a `clippy.toml` `msrv` through
  `CLIPPY_CONF_DIR`, which clippy prefers to Cargo.toml's) and takes the newest
  "stable since" it reports, tests included. Language features are not covered by that
  lint; only an old rustc refuses those, and CI cannot install one (no toolchain
  downloads), so a new syntax needs its version set by hand.

Fails (exit 1) when rust-version is lower than needed (an older toolchain would be
promised but refuse to build) or higher (it would turn away toolchains that work),
naming the packages or the source lines that set the version. Run by .ci/run.
"""

import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent


def version(text):
    """`1.88` and `1.88.0` as a comparable (major, minor, patch)."""
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def show(key):
    return ".".join(str(part) for part in key[:2]) if key[2] == 0 else ".".join(map(str, key))


def metadata():
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)


def own_code_needs(msrv):
    """{stable-since version: [file:line, ...]} of std items kiln uses that are newer than `msrv`."""
    with tempfile.TemporaryDirectory(prefix="kiln-msrv-") as conf:
        # The project's own clippy settings, if it gets some, still apply.
        settings = [line for name in ("clippy.toml", ".clippy.toml") if (ROOT / name).is_file()
                    for line in (ROOT / name).read_text().splitlines()
                    if not re.match(r"\s*(msrv|check-incompatible-msrv-in-tests)\s*=", line)]
        # Tests too: `cargo test` must build with the promised toolchain as well.
        settings += [f'msrv = "{show(msrv)}"', "check-incompatible-msrv-in-tests = true"]
        pathlib.Path(conf, "clippy.toml").write_text("\n".join(settings) + "\n")
        env = dict(os.environ, CLIPPY_CONF_DIR=conf)
        run = subprocess.run(
            ["cargo", "clippy", "--locked", "--all-targets", "--message-format", "json", "--",
             "-A", "clippy::all", "-W", "clippy::incompatible_msrv"],
            cwd=ROOT, env=env, capture_output=True, text=True,
        )
    if run.returncode != 0:
        sys.stderr.write(run.stderr)
        sys.exit("rust-version: cargo clippy failed (above); fix the build first")
    needs = {}
    for line in run.stdout.splitlines():
        message = json.loads(line)
        if message.get("reason") != "compiler-message":
            continue
        diagnostic = message["message"]
        if (diagnostic.get("code") or {}).get("code") != "clippy::incompatible_msrv":
            continue
        since = re.search(r"stable since `([0-9.]+)`", diagnostic["message"])
        spans = [span for span in diagnostic["spans"] if span["is_primary"]]
        if since and spans:
            where = f"{spans[0]['file_name']}:{spans[0]['line_start']}"
            needs.setdefault(version(since.group(1)), set()).add(where)
    return {key: sorted(places) for key, places in needs.items()}


def main():
    data = metadata()
    members = set(data["workspace_members"])
    (kiln,) = [package for package in data["packages"] if package["id"] in members]
    declared = kiln.get("rust_version")
    dependencies = {}
    for package in data["packages"]:
        if package["id"] not in members and package.get("rust_version"):
            dependencies.setdefault(version(package["rust_version"]), []).append(
                f"{package['name']} {package['version']}")
    locked = max(dependencies)
    locked_why = f"{show(locked)} for the locked dependencies ({', '.join(sorted(dependencies[locked]))})"
    own = own_code_needs(locked)
    needed, why = locked, locked_why
    if own:
        newest = max(own)
        needed, why = newest, f"{show(newest)} for kiln's own code ({', '.join(own[newest])}), {locked_why}"
    if declared is None:
        sys.exit(f'rust-version: Cargo.toml declares none; kiln needs {why}: set rust-version = "{show(needed)}"')
    have = version(declared)
    if have < needed:
        sys.exit(f'rust-version: Cargo.toml says {declared}, lower than kiln needs: {why}; '
                 f'rustc {declared} would refuse to build it: set rust-version = "{show(needed)}"')
    if have > needed:
        sys.exit(f'rust-version: Cargo.toml says {declared}, higher than kiln needs: {why}; '
                 f'it turns away toolchains that build kiln: set rust-version = "{show(needed)}"')
    print(f"rust-version {declared}: {why}")


if __name__ == "__main__":
    main()
