"""pyqtgraph imported without its CUDA–OpenGL interop probe.

On import pyqtgraph loads cuda-python's runtime bindings for RawImageGLWidget, which TuneLab never uses.
Where a CUDA build of PyTorch brought cuda-python along, that costs ~35 ms of window start-up; blocking it
for the length of pyqtgraph's import leaves cuda-python importable for anything that needs it later.
"""

from __future__ import annotations

import importlib
import sys

_PROBED = "cuda.bindings.runtime"


def import_pyqtgraph() -> None:
    if "pyqtgraph" in sys.modules:
        return
    blocked = _PROBED not in sys.modules
    if blocked:
        sys.modules[_PROBED] = None  # type: ignore[assignment]  # `import` of it raises ImportError
    try:
        importlib.import_module("pyqtgraph")
    finally:
        if blocked and sys.modules.get(_PROBED, 0) is None:
            del sys.modules[_PROBED]
