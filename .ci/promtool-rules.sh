#!/usr/bin/env bash
# Checks every PrometheusRule under rendered/ with promtool: PromQL syntax,
# rule structure, label and annotation templates. CI installs promtool with
# `apt-get install --no-install-recommends prometheus` (Debian ships it there).
# Usage: .ci/promtool-rules.sh [rendered-dir]
set -euo pipefail
rendered="${1:-rendered}"
command -v promtool >/dev/null || { echo "promtool not found: apt-get install --no-install-recommends prometheus" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# One rules file per PrometheusRule: its spec (`groups:`) is the rules-file format.
python3 - "$rendered" "$work" <<'PY'
import pathlib, sys, yaml
rendered, work = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
count = 0
for path in sorted(rendered.rglob("prometheusrule-*.yaml")):
    doc = yaml.safe_load(path.read_text())
    if doc.get("kind") != "PrometheusRule":
        continue
    out = work / path.relative_to(rendered).as_posix().replace("/", "__")
    out.write_text(yaml.safe_dump(doc["spec"], sort_keys=False))
    count += 1
if count == 0:
    sys.exit(f"no PrometheusRule found under {rendered}")
PY
promtool check rules "$work"/*.yaml
