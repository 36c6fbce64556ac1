"""What the local durable host refuses or reports, as the extension's HTTP API would."""


class InstanceAlreadyRunning(Exception):
    """start_new with the id of an instance that is Pending or Running."""


class InstanceNotFound(LookupError):
    """No instance has that id."""


class HostAborted(RuntimeError):
    """An activity raised a BaseException that is not an Exception: the host 'died' (a simulated crash)."""


class Superseded(Exception):
    """The instance was restarted under a new execution id; the old runner's work is stale."""
