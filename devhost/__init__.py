"""The local host: runs the Function App's real functions on one machine (Azurite, no Functions host)."""
