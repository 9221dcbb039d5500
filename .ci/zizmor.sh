#!/usr/bin/env bash
# Audits the GitHub Actions workflows and the pre-commit hooks with zizmor
# (https://docs.zizmor.sh), offline and with the strictest persona: pinned
# actions, least permissions, no template injection. Exit non-zero on any
# finding. .ci/run can call it; it installs the pinned zizmor from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

version=1.32.0
if [ "$(zizmor --version 2>/dev/null)" != "zizmor ${version}" ]; then
  python3 -m pip install --quiet --disable-pip-version-check "zizmor==${version}"
fi
zizmor --offline --persona pedantic --strict-collection --no-progress .
