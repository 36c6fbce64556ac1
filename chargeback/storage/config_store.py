"""The configuration in Table Storage: every imported version kept by fingerprint, plus a current pointer.

Invoicing runs record the fingerprint they priced with, so an old month can be explained with the
config it was invoiced under, whatever was imported since.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode

from chargeback.config.loading import config_from_dict
from chargeback.config.model import ChargebackConfig
from chargeback.storage import table_json
from chargeback.storage.account import StorageAccount, storage_errors
from chargeback.storage.json_entity import from_properties, to_properties

CONFIG_TABLE = "ChargebackConfig"
VERSIONS, POINTER = "version", "pointer"


PARSED_VERSIONS_KEPT = 8


class ConfigStore:
    def __init__(self, account: StorageAccount):
        self.account = account
        # Versions parsed in this process, by fingerprint. A version is its content's fingerprint and is never
        # rewritten with other content, so a parsed one stays right; a run's steps (one per department) would
        # otherwise read and parse the whole config again each time.
        self._parsed: dict[str, ChargebackConfig] = {}

    @property
    def table(self) -> TableClient:
        return self.account.table(CONFIG_TABLE)

    def save(self, config: ChargebackConfig, source: str = "") -> str:
        """Store the config as a version and make it current; returns its fingerprint."""
        fingerprint = config.fingerprint()
        now = datetime.now(UTC)
        with storage_errors("storing the configuration"):
            self.table.upsert_entity({"PartitionKey": VERSIONS, "RowKey": fingerprint, "ImportedAt": now,
                                      "Source": source[:500], **to_properties(config.to_dict())},
                                     mode=UpdateMode.REPLACE)
            self.table.upsert_entity({"PartitionKey": POINTER, "RowKey": "current", "Fingerprint": fingerprint,
                                      "ImportedAt": now}, mode=UpdateMode.REPLACE)
        return fingerprint

    def current_fingerprint(self) -> str | None:
        """Read each time (the import may have moved it; each version is cached once parsed, ``get``); its one
        column as plain JSON (chargeback/storage/table_json: without the SDK's entity conversion)."""
        with storage_errors("reading the configuration"):
            pointer = table_json.get(self.table, POINTER, "current", "Fingerprint")
        if pointer is None:
            return None
        fingerprint: str = pointer["Fingerprint"]
        return fingerprint

    def current(self) -> ChargebackConfig | None:
        """The config in force, or None if none was ever imported."""
        fingerprint = self.current_fingerprint()
        return self.get(fingerprint) if fingerprint else None

    def get(self, fingerprint: str) -> ChargebackConfig | None:
        """A config version by fingerprint (as recorded by an invoicing run)."""
        if (parsed := self._parsed.get(fingerprint)) is not None:
            return parsed
        with storage_errors("reading a configuration version"):
            try:
                entity = self.table.get_entity(VERSIONS, fingerprint)
            except ResourceNotFoundError:
                return None
        config = config_from_dict(from_properties(entity))
        if len(self._parsed) >= PARSED_VERSIONS_KEPT:
            self._parsed.pop(next(iter(self._parsed)))
        self._parsed[fingerprint] = config
        return config

    def versions(self) -> list[dict[str, Any]]:
        """Every imported version: fingerprint, imported at, source; newest first."""
        with storage_errors("listing configuration versions"):
            rows = self.table.query_entities("PartitionKey eq @p", parameters={"p": VERSIONS},
                                             select=["RowKey", "ImportedAt", "Source"])
            found = [{"fingerprint": r["RowKey"], "imported_at": r["ImportedAt"], "source": r.get("Source", "")}
                     for r in rows]
        return sorted(found, key=lambda v: v["imported_at"], reverse=True)
