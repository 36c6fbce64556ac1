"""Names of the orchestrations (never typed twice): starters, the local host and the orchestrators use these."""

MONTHLY_INVOICING = "monthly_invoicing"
MONTH_TO_DATE = "month_to_date"
