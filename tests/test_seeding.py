"""seed_everything: deterministic mode on, without importing the compiler stack."""

from __future__ import annotations

import subprocess
import sys


def test_seed_everything_is_deterministic_without_importing_the_compiler() -> None:
    code = (
        "import sys, torch\n"
        "from relate.runs.seeding import seed_everything\n"
        "seed_everything(0)\n"
        "assert torch.are_deterministic_algorithms_enabled()\n"
        "assert not torch.is_deterministic_algorithms_warn_only_enabled()\n"
        "assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark\n"
        "compiler = ('torch._inductor', 'torch._dynamo')\n"
        "print(sorted(m for m in sys.modules if m.startswith(compiler)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
