#!/usr/bin/env python3
"""Writes a synthetic Docker Compose file of N services for the import
benchmark (bench/import-compose.sh): a mix of what real stacks hold, one in
ten a GPU service, one in five with a named volume and one in five with a credential in its
environment (each sealed as a placeholder), health checks, ports and a
dependency on the previous service.

    bench/compose.py 500 > compose.yaml
"""
import sys


def main() -> None:
    count = int(sys.argv[1])
    out = ["name: bench", "services:"]
    for i in range(count):
        name = f"svc-{i:04d}"
        out.append(f"  {name}:")
        out.append(f"    image: ghcr.io/bench/app-{i % 17}:1.{i % 9}.0")
        out.append("    restart: unless-stopped")
        out.append(f"    ports: [\"{8000 + i % 1000}\"]")
        out.append("    environment:")
        out.append(f"      LOG_LEVEL: info\n      WORKERS: \"{1 + i % 8}\"")
        if i % 5 == 1:
            out.append(f"      API_TOKEN: token-{i}")
        out.append("    healthcheck:")
        out.append(f"      test: [\"CMD-SHELL\", \"curl -fsS http://localhost:{8000 + i % 1000}/health || exit 1\"]")
        out.append("      interval: 10s\n      start_period: 30s")
        out.append("    deploy:\n      resources:\n        limits: {cpus: \"1\", memory: 512m}")
        if i % 10 == 0:
            out.append("        reservations:\n          devices:\n            - {driver: nvidia, count: 1, capabilities: [gpu]}")
        if i % 5 == 0:
            out.append(f"    volumes: [\"data-{i}:/data\"]")
        if i > 0:
            out.append(f"    depends_on: [svc-{(i - 1):04d}]")
    # A named volume must be declared at the top level (compose-spec), or
    # the file is invalid and the import exits 2 before it maps anything.
    out.append("volumes:")
    out.extend(f"  data-{i}: {{}}" for i in range(0, count, 5))
    print("\n".join(out))


if __name__ == "__main__":
    main()
