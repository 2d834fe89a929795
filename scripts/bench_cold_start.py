"""Cold start: importing a function module against importing the bare stack it stands on.

Each sample is a fresh Python process (as a cold Vercel instance is) that times only the
import, not interpreter start-up. The two kinds of sample alternate, so a machine that slows
down mid-run slows both. Prints the medians and their ratio; the aim is at most 1.25.

    python -m scripts.bench_cold_start [--runs 21] [--module api.health]

The function is imported with SENTRY_DSN set (as in production, so Sentry is initialised at
import, which the bare stack does not do) and a DATABASE_URL (no connection is made at import).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BARE_STACK = (
    "starlette.applications",
    "starlette.routing",
    "starlette.middleware.cors",
    "sqlalchemy",
    "psycopg",
    "sentry_sdk",
)

_TIMER = "import time; t = time.perf_counter(); import {modules}; print(time.perf_counter() - t)"


def sample(modules: str, env: dict[str, str]) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _TIMER.format(modules=modules)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--module", default="api.health", help="the function module to import")
    args = parser.parse_args(argv)

    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        "PYTHONPATH": str(ROOT),
        "ZENTRO_ENV": "development",
        "DATABASE_URL": "postgresql://zentro_api@/zentro?host=/nonexistent",
        "SENTRY_DSN": "https://0123456789abcdef@sentry.invalid/1",
        "PASSWORD_PEPPER": "benchmark-pepper-not-a-secret-0123456789",
        "ENCRYPTION_KEYS": "1:" + "A" * 43,
    }
    # Warm the bytecode caches once so neither side pays compilation (a deployed bundle ships
    # compiled packages; PYTHONDONTWRITEBYTECODE is dropped above so the warm-up can write them).
    sample(args.module, env)
    sample(", ".join(BARE_STACK), env)

    function_times, stack_times = [], []
    for _ in range(args.runs):
        function_times.append(sample(args.module, env))
        stack_times.append(sample(", ".join(BARE_STACK), env))

    function_ms = statistics.median(function_times) * 1000
    stack_ms = statistics.median(stack_times) * 1000
    print(f"bare stack ({', '.join(BARE_STACK)}): median {stack_ms:.1f} ms over {args.runs} fresh processes")
    print(f"{args.module}: median {function_ms:.1f} ms over {args.runs} fresh processes")
    print(f"ratio function / bare stack: {function_ms / stack_ms:.3f} (aim: <= 1.25)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
