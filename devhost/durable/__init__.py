"""The local Durable Functions host: the SDK's replay engine fed real histories, state in Table Storage."""
from .engine import DurableHost
from .errors import HostAborted, InstanceAlreadyRunning, InstanceNotFound, InstanceNotRunning
from .registry import FunctionRegistry, UnknownFunction
from .store import InMemoryInstanceStore, InstanceRecord, TableInstanceStore

__all__ = ["DurableHost", "FunctionRegistry", "HostAborted", "InMemoryInstanceStore", "InstanceAlreadyRunning",
           "InstanceNotFound", "InstanceNotRunning", "InstanceRecord", "TableInstanceStore", "UnknownFunction"]
