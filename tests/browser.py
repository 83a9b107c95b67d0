"""What the browser tests share: Debian's headless Chromium, where screenshots go, a free port."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Screenshots land in test-artifacts/<test area>/; IMR_TEST_ARTIFACTS moves the folder.
ARTIFACTS = Path(os.environ.get("IMR_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "test-artifacts"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
