#!/usr/bin/env bash
# Checks every PrometheusRule under rendered/ with promtool: PromQL syntax,
# rule structure, label and annotation templates (`promtool check rules`), then
# runs the unit tests of tests/promtool/ against those rendered rules
# (`promtool test rules`, Prometheus docs "Unit testing for rules"), so a
# template or values change that breaks an alert fails here. Every alert must
# have a test case where it fires and one where it does not, and every test
# file must belong to a rendered PrometheusRule.
# CI installs promtool with `apt-get install --no-install-recommends prometheus`
# (Debian ships it there).
# Usage: .ci/promtool-rules.sh [rendered-dir]
set -euo pipefail
rendered="${1:-rendered}"
tests="$(dirname "$0")/../tests/promtool"
command -v promtool >/dev/null || { echo "promtool not found: apt-get install --no-install-recommends prometheus" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/rules"
# One rules file per PrometheusRule, named after it (rules/<metadata.name>.yaml,
# which the test files list in rule_files): its spec (`groups:`) is the
# rules-file format. The test files are copied next to rules/.
python3 - "$rendered" "$tests" "$work" <<'PY'
import pathlib, shutil, sys, yaml
rendered, tests, work = (pathlib.Path(arg) for arg in sys.argv[1:4])
alerts = {}
for path in sorted(rendered.rglob("prometheusrule-*.yaml")):
    doc = yaml.safe_load(path.read_text())
    if doc.get("kind") != "PrometheusRule":
        continue
    name = doc["metadata"]["name"]
    (work / "rules" / f"{name}.yaml").write_text(yaml.safe_dump(doc["spec"], sort_keys=False))
    alerts[name] = {rule["alert"] for group in doc["spec"]["groups"] for rule in group["rules"] if "alert" in rule}
if not alerts:
    sys.exit(f"no PrometheusRule found under {rendered}")
problems = []
cases = {}  # alert -> set of "fires" / "silent"
for path in sorted(tests.glob("*.test.yaml")):
    name = path.name.removesuffix(".test.yaml")
    if name not in alerts:
        problems.append(f"{path}: no rendered PrometheusRule {name}")
    doc = yaml.safe_load(path.read_text())
    if doc.get("rule_files") != [f"rules/{name}.yaml"]:
        problems.append(f"{path}: rule_files must be [rules/{name}.yaml]")
    for test in doc.get("tests") or []:
        for case in test.get("alert_rule_test") or []:
            outcome = "fires" if case.get("exp_alerts") else "silent"
            cases.setdefault(case["alertname"], set()).add(outcome)
    shutil.copy(path, work / path.name)
for name, names in sorted(alerts.items()):
    for alert in sorted(names):
        for outcome in ("fires", "silent"):
            if outcome not in cases.get(alert, set()):
                problems.append(f"alert {alert} ({name}): no test case in {tests}/{name}.test.yaml where it {outcome if outcome == 'fires' else 'stays silent'}")
for alert in sorted(set(cases) - set().union(*alerts.values())):
    problems.append(f"{tests}: tests name alert {alert}, which no rendered PrometheusRule defines")
if problems:
    sys.exit("\n".join(problems))
PY
promtool check rules "$work"/rules/*.yaml
(cd "$work" && promtool test rules ./*.test.yaml)
