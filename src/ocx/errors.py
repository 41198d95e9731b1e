"""Errors a user can fix; the CLI prints them as one line and exits 1."""


class OcxError(Exception):
    """A problem the user can fix; its message says what and how."""


class NotFound(OcxError):
    """A reference (customer, promise, incident...) that matches nothing."""


class NoDatabase(OcxError):
    """The database file does not exist yet."""


class ChannelDown(OcxError):
    """A channel that could not be reached or did not answer within its timeout: its other
    messages in the same run wait for the next run instead of each waiting out the timeout."""
