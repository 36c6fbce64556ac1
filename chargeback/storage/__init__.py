"""Storage adapters (Table and Blob Storage); the only code here that knows about Azure SDKs."""
