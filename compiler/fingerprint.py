"""What compiled output depends on besides its source: the compiler's own code.

Build manifests and the import cache key their entries with this fingerprint, so editing the
transformer or a lint rule (an editable install, a patched release) invalidates old output even
while the version number stays the same.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from durablec import __version__
from durablec.runtime.abi import ABI_VERSION

__all__ = ["compiler_fingerprint"]

_COMPILER_DIR = Path(__file__).resolve().parent


@functools.cache
def compiler_fingerprint() -> str:
    """A short hash of the durablec version, the ABI version and every compiler source file.

    Reading the compiler's files (about 160 KB) costs about a millisecond and loads no libcst,
    so a warm import or a no-op build stays cheap.
    """
    digest = hashlib.sha256(f"durablec {__version__}; abi {ABI_VERSION}".encode())
    for path in sorted(_COMPILER_DIR.rglob("*.py")):
        digest.update(b"\0%s\0" % path.relative_to(_COMPILER_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
