from __future__ import annotations

import msgspec
from rich.console import Console

from dental_etl.settings import Settings


class CliState(msgspec.Struct):
    """What the app callback hands to every command through `ctx.obj`."""

    settings: Settings
    console: Console
