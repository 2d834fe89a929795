"""Cold start: the Browserbase SDK and the CDP client load only when a browser is opened, so the
functions that never drive Zeus (every one but the Zeus cron and the integration test) never pay
for them, and the two that do pay only when they open a session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
BROWSER_STACK = ("browserbase", "websockets", "lib.zeus.cdp", "httpx")

CHECK = f"""
import sys
from pathlib import Path
from scripts.localvercel.loader import FunctionLoader
import lib.zeus.portal, lib.zeus.browser, lib.zeus.shipments
stack = {BROWSER_STACK!r}
loader = FunctionLoader(Path.cwd())
for function in ("api/cron/zeus", "api/integrations/zeus/test", "api/integrations/zeus", "api/orders/[id]/shipment"):
    loader.app(function)
print(*[m in sys.modules for m in stack])
from lib.config import settings
from lib.zeus.browser import BrowserNotConfigured, portal_page
try:
    with portal_page(settings(), metadata={{}}):
        pass
except BrowserNotConfigured:
    pass
print(*[m in sys.modules for m in stack])
"""


def test_the_browser_stack_is_imported_only_when_a_browser_is_opened() -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BROWSERBASE")},
        "PYTHONPATH": str(ROOT),
        "ZENTRO_ENV": "development",
        "DATABASE_URL": "postgresql://zentro_api@/zentro?host=/nonexistent",
        "PASSWORD_PEPPER": "import-test-pepper-not-a-secret-0123456789",
        "ENCRYPTION_KEYS": "1:" + "A" * 43,
    }
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, cwd=ROOT, env=env, check=True
    )
    before, after = result.stdout.split("\n")[:2]
    assert before.split() == ["False"] * len(BROWSER_STACK)
    # The positive case under the same setup: opening a browser (here refused for want of a key,
    # after the imports) loads all of it, so the first line is not True by accident of the check.
    assert after.split() == ["True"] * len(BROWSER_STACK)
