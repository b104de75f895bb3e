"""Errors the CLI turns into exit codes: InputError -> 2 (bad input), NotAvailable -> 1."""

from hw_models import SpecError


class InputError(ValueError):
    """Bad input from a user: a one-line message that names the field or flag and what is allowed."""


class NotAvailable(RuntimeError):
    """A capability that is not installed or not built yet (exit 1)."""


#: Exceptions that mean "the user's input is wrong" wherever they are raised.
INPUT_ERRORS = (InputError, SpecError)
