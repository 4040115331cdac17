"""Errors that mean "the input is wrong", reported as one line instead of a traceback."""


class UserError(Exception):
    """Bad configuration, data or state that the user can fix; the message says what and where."""


class ConfigError(UserError, ValueError):
    """A configuration value is out of range or a combination cannot work.

    Every check of a value the user sets raises it, wherever the check runs (a constructor, a data
    module's `setup`, a model or callback hook during `fit`), so the commands report it as one line.
    It is also a ValueError, so library callers that catch ValueError for a bad argument keep working."""


class DatasetError(UserError):
    """A dataset is missing, incomplete or unreadable."""


class NonFiniteLossError(UserError):
    """Training produced a NaN/Inf loss; it stops before the bad values reach the weights."""
