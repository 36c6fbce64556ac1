"""What the local durable host refuses or reports, as the extension's HTTP API would."""


class InstanceAlreadyRunning(Exception):
    """start_new with the id of an instance that is Pending or Running (``record``: as it was read)."""

    def __init__(self, message: str, record=None):
        super().__init__(message)
        self.record = record


class InstanceNotFound(LookupError):
    """No instance has that id."""


class HostAborted(RuntimeError):
    """An activity raised a BaseException that is not an Exception: the host 'died' (a simulated crash)."""


class Superseded(Exception):
    """The instance was restarted under a new execution id; the old runner's work is stale."""
