"""Azure list prices (Retail Prices API pages) turned into proposed price entries for review."""
