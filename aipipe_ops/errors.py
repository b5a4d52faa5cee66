"""User-facing errors. The CLI prints any AipipeError as one line on stderr and exits 2; anything else is
a bug and shows a traceback under --debug. Messages name the file, key or column and what was expected."""


class AipipeError(Exception):
    """A failure the user can act on (bad input, missing file, refused connection...)."""

    exit_code = 2


class ConfigError(AipipeError):
    """A configuration value (stack config key, CLI option, environment variable) is invalid."""


class InputError(AipipeError):
    """An input file or table is missing, unreadable, or lacks a column."""


class WorkspaceError(AipipeError):
    """The workspace cannot be opened or migrated."""


class SourceError(AipipeError):
    """A source (MLMD store, billing export, KFP API, BigQuery) cannot be read."""


class ReconciliationError(AipipeError):
    """Attributed buckets do not add up to the export's total: money went missing or was double counted."""


class BudgetExceededError(AipipeError):
    """An estimate exceeds the budget it was checked against."""

    exit_code = 1
