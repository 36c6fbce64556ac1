"""The local Durable Functions host: the SDK's replay engine fed real histories, state in Table Storage.

Only what the product's orchestrations use (see devhost.durable.engine for what it does not support).
"""
from devhost.durable.engine import DurableHost
from devhost.durable.errors import HostAborted, InstanceAlreadyRunning, InstanceNotFound
from devhost.durable.registry import FunctionRegistry, UnknownFunction
from devhost.durable.store import InMemoryInstanceStore, InstanceRecord, TableInstanceStore

__all__ = ["DurableHost", "FunctionRegistry", "HostAborted", "InMemoryInstanceStore", "InstanceAlreadyRunning",
           "InstanceNotFound", "InstanceRecord", "TableInstanceStore", "UnknownFunction"]
