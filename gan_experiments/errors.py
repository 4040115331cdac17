"""Errors that mean "the input is wrong", reported as one line instead of a traceback."""


class UserError(Exception):
    """Bad configuration, data or state that the user can fix; the message says what and where."""


class ConfigError(UserError):
    """A configuration value is out of range or a combination cannot work."""


class DatasetError(UserError):
    """A dataset is missing, incomplete or unreadable."""


class NonFiniteLossError(UserError):
    """Training produced a NaN/Inf loss; it stops before the bad values reach the weights."""
