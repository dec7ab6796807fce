"""Turning library errors into a message on stderr and an exit code (1), at the CLI only."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import typer

from ..errors import TiledError

T = TypeVar("T")


@contextmanager
def reported_errors() -> Iterator[None]:
    try:
        yield
    except TiledError as err:
        print(f"Error: {err.message}", file=sys.stderr)
        raise typer.Exit(1) from err
    except OSError as err:
        print(f"Error: {err}", file=sys.stderr)
        raise typer.Exit(1) from err


def run_reported(func: Callable[[], T]) -> T:
    with reported_errors():
        return func()
