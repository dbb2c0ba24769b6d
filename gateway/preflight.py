"""Checks ``babelcast serve`` runs before uvicorn starts, so that a wrong setting is one line
that says what to do, never a start-up traceback. ``babelcast doctor`` reuses them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from babelcast.gateway.settings import Settings
from babelcast.translation.engine import EngineError


@dataclass(frozen=True)
class DeviceChoice:
    """Where the models of the models file will run, and why (``note``, for the log)."""

    device: str
    note: str


def cuda_device_count() -> int:
    """GPUs CTranslate2 can use (0 when its CUDA support or the driver is missing)."""
    import ctranslate2

    try:
        return int(ctranslate2.get_cuda_device_count())
    except RuntimeError:  # a broken driver install raises instead of answering 0
        return 0


def models_problem(models_file: str) -> str | None:
    """Why the models file cannot be used, or None: invalid TOML, an unknown key, or a model
    directory that is missing or incomplete (checked without loading any model)."""
    from babelcast.translation.config import load_models_config
    from babelcast.translation.modeldir import inspect_model_dir

    try:
        config = load_models_config(models_file)
        for i, entry in enumerate(config.models):
            try:
                inspect_model_dir(entry.path)
            except EngineError as exc:
                return f"{config.source}: models[{i}] ({entry.path}): {exc}"
    except EngineError as exc:
        return str(exc)
    return None


def requested_devices(settings: Settings) -> Iterator[str]:
    """Every device the settings ask for: the global one, then each models file entry's own
    (an entry's ``device`` overrides ``--device``). Only call with a valid models file."""
    if not settings.models:
        yield settings.device
        return
    from babelcast.translation.config import load_models_config

    for entry in load_models_config(settings.models).models:
        yield entry.options.get("device", settings.device)


def device_problem(settings: Settings, gpus: int | None = None) -> str | None:
    """Why the device asked for cannot be used (``cuda`` with no GPU visible), or None."""
    if settings.engine == "none" or settings.role == "gateway":
        return None  # this process loads no model
    if "cuda" not in set(requested_devices(settings)):
        return None
    gpus = cuda_device_count() if gpus is None else gpus
    if gpus > 0:
        return None
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    hint = f" (CUDA_VISIBLE_DEVICES={visible!r})" if visible is not None else ""
    return ("device 'cuda' was asked for but CTranslate2 sees no CUDA GPU" + hint + ": check "
            "the NVIDIA driver (nvidia-smi) and the CUDA 12 libraries (`babelcast doctor` "
            "checks both), or use --device cpu (BABELCAST_DEVICE=cpu) or auto")


def choose_device(settings: Settings, gpus: int | None = None) -> DeviceChoice:
    """What ``--device`` resolves to for this machine, with a line saying so."""
    if not settings.models:
        note = ("no models file: the embedded engine (en<->pt) runs on the CPU"
                + ("; --device cuda only applies to the models of --models"
                   if settings.device == "cuda" else ""))
        return DeviceChoice("cpu", note)
    gpus = cuda_device_count() if gpus is None else gpus
    if settings.device == "auto":
        device = "cuda" if gpus > 0 else "cpu"
        why = f"{gpus} CUDA GPU(s) visible" if gpus else "no CUDA GPU visible"
        return DeviceChoice(device, f"device auto chose {device} ({why}) for the models of "
                                    f"{settings.models}")
    return DeviceChoice(settings.device, f"models of {settings.models} run on "
                                         f"{settings.device}")


def glossaries_problem(path: str) -> str | None:
    """Why the glossary files at ``path`` cannot be loaded, or None (checked before start)."""
    from babelcast.glossary import GlossaryError, load_glossaries

    try:
        load_glossaries([path])
    except GlossaryError as exc:
        return f"cannot load glossaries from {path}: {exc.message}"
    return None


def redis_problem(url: str) -> str | None:
    """Why Redis at ``url`` cannot be used, or None: checked before the server starts so
    that a wrong URL is one clear line, not a start-up traceback."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        client.ping()
        client.close()
    except (redis.RedisError, OSError, ValueError) as exc:
        return (f"cannot reach Redis at {url}: {exc}; start redis-server or fix --redis-url "
                "(BABELCAST_REDIS_URL)")
    return None


def serve_problem(settings: Settings) -> str | None:
    """The first reason ``settings`` cannot serve, or None. Models are checked only where
    this process loads them (not for ``--role gateway`` or ``--engine none``)."""
    if settings.redis_url:
        problem = redis_problem(settings.redis_url)
        if problem:
            return problem
    if settings.glossaries:
        problem = glossaries_problem(settings.glossaries)
        if problem:
            return problem
    loads_models = settings.engine != "none" and settings.role != "gateway"
    if settings.models and loads_models:
        problem = models_problem(settings.models)
        if problem:
            return problem
    return device_problem(settings)
