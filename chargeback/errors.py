"""Typed domain errors that entry points map to HTTP codes, CLI messages or dead letters."""


class ChargebackError(Exception):
    """Base of every error the domain raises on purpose."""


class InvalidEvent(ChargebackError):
    """A usage event that cannot become a usage record; the message is the dead-letter reason."""


class InvalidConfig(ChargebackError):
    """A configuration file that was refused; ``problems`` lists every ``path: problem``."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class InvalidMonth(ChargebackError):
    """A month that is not ``YYYY-MM``."""


class StorageUnavailable(ChargebackError):
    """Storage failed; the caller must not checkpoint (the host retries the batch)."""


class Unauthenticated(ChargebackError):
    """No trustworthy identity on the request (401)."""


class Forbidden(ChargebackError):
    """An identity that may not do this (403, or 404 where existence must not leak)."""


class RunInProgress(ChargebackError):
    """The month's invoicing run is already running (409)."""


class InvalidDepartment(ChargebackError):
    """A department id that is not ``[a-z0-9-]+`` (400): also what path tricks become."""


class UnknownInvoice(ChargebackError):
    """No invoice the caller may see (404): the same answer whether it is missing or someone else's."""


class DeliveryFailed(ChargebackError):
    """A notice that could not be delivered; ``permanent`` ones are not worth retrying."""

    def __init__(self, message: str, permanent: bool = False):
        self.permanent = permanent
        super().__init__(message)
