"""What every service's command line shares: the error console, the common options, loading a config.

Each service owns its verbs in its own ``cli`` module (an ``app: typer.Typer`` and the ``KINDS`` of
configuration file it reads); the composition root, ``stationpipe.cli``, mounts them from one table.
"""

from __future__ import annotations

from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console

from stationpipe.kernel.config import load, read_toml
from stationpipe.kernel.errors import ConfigError
from stationpipe.kernel.runtime import run_service, setup_logging

M = TypeVar("M", bound=BaseModel)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="TOML configuration file")]
LogOpt = Annotated[str, typer.Option("--log-level", help="DEBUG, INFO, WARNING, ERROR")]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` on stderr; return the ``typer.Exit`` to raise."""
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def load_checked(path: Path, model: type[M]) -> M:
    """``path`` validated as ``model``, then by the model's own ``verify(path)`` when it has one
    (checks that reach beyond the file, such as the profiles an edge config names); ``ConfigError``."""
    cfg = load(path, model)
    verify = getattr(cfg, "verify", None)
    if callable(verify):
        verify(path)
    return cfg


def load_or_exit(path: Path, kind: str, model: type[M]) -> M:
    """Load ``path``, a ``kind = "<kind>"`` file; on a bad file print the file, key and reason, exit 2."""
    try:
        found = read_toml(path).get("kind")
        cfg = load_checked(path, model) if found == kind else None
    except ConfigError as exc:
        raise fail(str(exc)) from None
    if cfg is None:
        raise fail(f'{path}: kind: this command needs kind = "{kind}"')
    return cfg


def serve(name: str, main: Coroutine[Any, Any, None], log_level: str) -> typer.Exit:
    """Run a service's main coroutine until a signal; the exit to raise with its code."""
    setup_logging(log_level)
    return typer.Exit(run_service(name, main))
