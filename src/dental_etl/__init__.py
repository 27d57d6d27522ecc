"""dental_etl: synthetic OpenDental source, loader and CLI for the dental analytics platform."""

from dental_etl.errors import (
    ConfigError,
    DentalError,
    RefusedToOverwrite,
    SourceUnreachable,
    TableError,
    WarehouseUnreachable,
)
from dental_etl.settings import Settings, load_settings

__all__ = [
    "ConfigError",
    "DentalError",
    "RefusedToOverwrite",
    "Settings",
    "SourceUnreachable",
    "TableError",
    "WarehouseUnreachable",
    "load_settings",
]
__version__ = "0.1.0"
