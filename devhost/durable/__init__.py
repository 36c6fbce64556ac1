"""The local Durable Functions host: the SDK's replay engine fed real histories, state in Table Storage."""
from devhost.durable.engine import DurableHost
from devhost.durable.errors import HostAborted, InstanceAlreadyRunning, InstanceNotFound, InstanceNotRunning
from devhost.durable.registry import FunctionRegistry, UnknownFunction
from devhost.durable.store import InMemoryInstanceStore, InstanceRecord, TableInstanceStore

__all__ = ["DurableHost", "FunctionRegistry", "HostAborted", "InMemoryInstanceStore", "InstanceAlreadyRunning",
           "InstanceNotFound", "InstanceNotRunning", "InstanceRecord", "TableInstanceStore", "UnknownFunction"]
