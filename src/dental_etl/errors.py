"""The project's exception hierarchy. Driver errors (pymysql, connectorx, ADBC, psycopg) are
translated into these at the boundary, so the CLI can print one clear line and exit non-zero."""

from __future__ import annotations


class DentalError(Exception):
    """Base class: an error a user can act on; its message says what to check."""


class ConfigError(DentalError):
    """config.yaml, an environment variable or a command-line option is wrong."""


class SourceUnreachable(DentalError):
    """The OpenDental MySQL/MariaDB server cannot be reached or refuses the login."""


class WarehouseUnreachable(DentalError):
    """The warehouse (PostgreSQL or the DuckDB file) cannot be opened."""


class RefusedToOverwrite(DentalError):
    """An operation would destroy existing data and was not explicitly allowed."""


class TableError(DentalError):
    """One table failed (missing, PK-less, incompatible change); other tables carry on."""


class TransformFailed(DentalError):
    """A model or a blocking audit failed while the SQLMesh project ran; the message names which."""
