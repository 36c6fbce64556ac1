"""Chargeback for a shared Azure OpenAI instance: the domain and its adapters.

Nothing in this package imports ``azure.functions``; triggers live in ingest/,
orchestrations/, activities/ and reports/ and call into here.
"""
