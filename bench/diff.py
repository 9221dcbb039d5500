#!/usr/bin/env python3
"""Times `kiln diff --base` against one `kiln render`, on this repository and
on the synthetic cluster of bench/gen.py (default 10,000 objects), prints the
numbers and checks the targets: diff within 2.5x of one render on this
repository, and within 4 s on the synthetic cluster. Exit 1 when one fails.

    bench/diff.py [--kiln target/release/kiln] [--objects 10000] [--runs 5]

Each case is a throwaway git repository in a temporary directory: its base
commit is rendered and committed, then the working tree gets a change and is
rendered again, so `kiln diff --base HEAD` renders two different revisions and
the drift gate is in sync. "one render" is `kiln render` of the working tree
when rendered/ is already up to date (render, validate, plan, compare; nothing
written), in full: KILN_FAST_PATH=off, since an up-to-date tree would otherwise
be answered from rendered/kiln.lock without rendering. Times are the best of --runs (the least disturbed by other load) and
the median. Needs git and a release build of kiln.
"""

import argparse
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent

GEN = ROOT / "bench" / "gen.py"


def git(root, *args):
    subprocess.run(["git", *args], cwd=root, check=True, stdout=subprocess.DEVNULL)


def commit_all(root):
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-qm", "base")


def kiln(binary, root, *args, expected=(0,)):
    env = dict(os.environ, KILN_FAST_PATH="off")
    result = subprocess.run([binary, "-C", str(root), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    if result.returncode not in expected:
        tail = "\n".join(result.stderr.decode().splitlines()[-5:])
        sys.exit(f"kiln {' '.join(args)} in {root}: exit {result.returncode}\n...\n{tail}")


def timed(binary, root, args, runs, expected=(0,)):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        kiln(binary, root, *args, expected=expected)
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def synthetic(root, objects):
    # The validated synthetic cluster of bench/run.sh (bench/gen.py).
    subprocess.run([sys.executable, str(GEN), "--objects", str(objects), "--out", str(root)], check=True,
                   stdout=subprocess.DEVNULL)


def synthetic_change(root):
    # A large pull request: 5 namespaces change an environment value (their
    # ConfigMaps and the pod templates that roll with them), one re-seals its
    # secret, one gains a workload and one loses one.
    namespaces = sorted((root / "values" / "namespaces").glob("*.yaml"))
    for path in namespaces[:5]:
        path.write_text(path.read_text().replace("MODE: prod", "MODE: debug"))
    first = namespaces[0]
    first.write_text(first.read_text().replace("      password: AgB", "      password: AgC", 1))
    if len(namespaces) > 6:
        grow, shrink = namespaces[5], namespaces[6]
        text = grow.read_text()
        last = text.rindex("\n  app-")
        block = text[last:].replace("  app-", "  app-extra-", 1)
        grow.write_text(text + block.lstrip("\n"))
        text = shrink.read_text()
        shrink.write_text(text[: text.rindex("\n  app-") + 1])


def this_repository(root):
    for directory in ("values", "templates", "rendered"):
        shutil.copytree(ROOT / directory, root / directory)


def this_repository_change(root):
    # Different inputs, same output: both revisions really render.
    template = sorted((root / "templates").rglob("*.yaml"))[0]
    template.write_text(template.read_text() + "{# bench #}\n")


def case(name, binary, runs, build, change):
    with tempfile.TemporaryDirectory() as directory:
        root = pathlib.Path(directory) / "cluster"
        build(root)
        kiln(binary, root, "render")
        commit_all(root)
        change(root)
        kiln(binary, root, "render")
        render, render_min = timed(binary, root, ["render"], runs)
        rows = [("render", render, render_min)]
        for fmt in ("text", "json", "markdown"):
            # Exit 1 only means the working tree changes the cluster.
            median, fastest = timed(binary, root, ["diff", "--base", "HEAD", "--format", fmt], runs, expected=(0, 1))
            rows.append((f"diff --base HEAD --format {fmt}", median, fastest))
        print(f"\n{name}")
        for label, median, fastest in rows:
            print(f"  {label:38} best {fastest * 1000:8.1f} ms ({fastest / render_min:4.2f}x render)  "
                  f"median {median * 1000:8.1f} ms ({median / render:4.2f}x)")
        return render_min, max(fastest for _, _, fastest in rows[1:])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kiln", default=str(ROOT / "target/release/kiln"))
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    binary = str(pathlib.Path(args.kiln).resolve())
    render, diff = case("this repository", binary, args.runs, this_repository, this_repository_change)
    _, big = case(f"synthetic cluster, {args.objects} objects (bench/gen.py)", binary, args.runs,
                  lambda root: synthetic(root, args.objects), synthetic_change)
    print()
    checks = [
        ("kiln diff on this repository <= 2.5x one render", diff <= 2.5 * render, f"{diff / render:.2f}x"),
        (f"kiln diff on {args.objects} objects <= 4 s", big <= 4.0, f"{big:.2f} s"),
    ]
    for what, ok, value in checks:
        print(f"{'PASS' if ok else 'FAIL'} {what}: {value}")
    sys.exit(0 if all(ok for _, ok, _ in checks) else 1)


if __name__ == "__main__":
    main()
