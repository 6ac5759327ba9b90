"""Pure numpy/scipy engine of Hot Spot Policing: no QGIS or Qt imports here, so every
statistic can be tested and reused without QGIS.

Long work takes a ``progress`` callback, ``progress(fraction)`` with fraction in [0, 1]; the
caller's callback raises :class:`Canceled` to stop it (the one way a run is cancelled).
Input that cannot give a meaningful answer raises :class:`InputError` with a message that
says what to change."""


class Canceled(Exception):  # noqa: N818 - a signal, not an error
    """Raised through a progress callback when the caller asked the work to stop."""


class InputError(ValueError):
    """The input cannot give a meaningful result; the message says what to change."""


def silent(fraction):
    """The progress callback of callers that do not follow progress."""


def fractions(progress, start, end):
    """A progress callback for one stage of a longer piece of work: maps [0, 1] to
    [start, end] of ``progress``."""
    report = progress or silent
    return lambda fraction: report(start + (end - start) * fraction)
