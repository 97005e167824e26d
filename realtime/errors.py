"""User-facing errors: the CLI prints these as one line and exits non-zero, never with a traceback."""


class StylecastError(Exception):
    """A problem the user can fix (bad path, unknown style, device not available...).

    The message is shown as-is on one line, so it should name the problem and, where possible, the fix.
    """

    exit_code = 2
