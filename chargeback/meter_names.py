"""The names of this product's meters (DESIGN.md "Meters"): one vocabulary for usage, config and billing.

A leaf, so that config can check rates and weights against it without importing usage. (Azure's own
retail meter names, e.g. "gpt 4o 0806 Inp glbl Tokens", are read in ``chargeback.prices.meter_names``.)
"""
from __future__ import annotations

# Token meters, inside the prompt (input) total, then inside the completion (output) total.
INPUT_METERS = ("input", "cached_input", "cache_write_input", "audio_input", "cached_audio_input",
                "image_input", "cached_image_input")
OUTPUT_METERS = ("output", "audio_output", "image_output")
TOKEN_METERS = INPUT_METERS + OUTPUT_METERS
METERS = (*TOKEN_METERS, "audio_seconds", "characters")
CACHED_METERS = ("cached_input", "cached_audio_input", "cached_image_input")
