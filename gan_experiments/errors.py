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


def user_error_of_rank(traceback_text: str) -> UserError | None:
    """A DDP rank's one-line error, rebuilt in the process that spawned the ranks.

    Spawned ranks (`trainer=ddp_sim`, `start_method=spawn`) report a failure to the launching process as
    torch's `ProcessRaisedException`, whose text is the rank's whole traceback; the launching process
    would end with that traceback instead of the line. The traceback's last line names the exception and
    its message (one line for every UserError); for this module's errors the same error is returned,
    for anything else None."""
    lines = [line for line in traceback_text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    name, separator, message = lines[-1].partition(": ")
    module, _, class_name = name.rpartition(".")
    error_class = globals().get(class_name) if module == __name__ and separator else None
    if isinstance(error_class, type) and issubclass(error_class, UserError):
        return error_class(message)
    return None
