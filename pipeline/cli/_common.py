"""What every command shares: the settings the group built, the runtime, JSON lines,
progress bars and the dates commands accept."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import sys
from collections.abc import Iterator

import click

from pipeline.config import Settings

# a command decorated with this gets the one Settings the group callback built
pass_settings = click.make_pass_decorator(Settings)


@contextlib.contextmanager
def runtime(settings: Settings) -> Iterator:
    """The adapters (catalogue, store, index) for the length of a ``with`` block."""
    from pipeline.runtime import open_runtime

    rt = open_runtime(settings)
    try:
        yield rt
    finally:
        rt.close()


def emit(obj: dict) -> None:
    """One JSON object on one line of standard output."""
    click.echo(json.dumps(obj, ensure_ascii=False))


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


class PageBar:
    """A page progress bar on stderr (shown when stderr is a terminal); ``write`` prints a
    line on stdout above it."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=0, unit="page", file=sys.stderr, dynamic_ncols=True,
                        disable=not sys.stderr.isatty(), desc="OCR")

    def add_total(self, pages: int) -> None:
        self.bar.total = (self.bar.total or 0) + pages
        self.bar.refresh()

    def advance(self, pages: int = 1) -> None:
        self.bar.update(pages)

    def write(self, line: str) -> None:
        self.bar.write(line, file=sys.stdout)

    def close(self) -> None:
        self.bar.close()


def counter(desc: str, unit: str):
    """A bar without a total on stderr (shown when stderr is a terminal); a context manager
    whose ``update()`` counts one more."""
    from tqdm import tqdm

    return tqdm(unit=unit, file=sys.stderr, dynamic_ncols=True,
                disable=not sys.stderr.isatty(), desc=desc)


def query_date(value: str | None, name: str) -> str | None:
    """An ISO date from 1987, 12/03/1987 or 1987-03-12; a bare year is its first day for a
    ``…from`` option and its last day otherwise."""
    if value is None:
        return None
    from pipeline.fields import parse_date

    iso = parse_date(value) or (value if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else None)
    if iso is None and re.fullmatch(r"\d{4}", value):
        iso = f"{value}-01-01" if name.endswith("from") else f"{value}-12-31"
    if iso is None:
        raise click.BadParameter(f"{value!r} is not a date (1987, 12/03/1987 or 1987-03-12)",
                                 param_hint=f"--{name}")
    return iso


def since_date(value: str | None) -> dt.datetime | None:
    """The start (UTC) of a --since YYYY-MM-DD day."""
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: a date as YYYY-MM-DD",
                                 param_hint="--since") from None
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
