"""Names of the invoicing activities (never typed twice); orchestration names live in orchestrations.names."""

LIST_PARTITIONS = "list_usage_partitions"
AGGREGATE_PARTITION = "aggregate_usage_partition"
PRICE_MONTH = "price_month"
RENDER_INVOICE = "render_department_invoice"
RENDER_MONTH_DOCUMENTS = "render_month_documents"
RECORD_RUN = "record_invoicing_run"
NOTIFY_DEPARTMENT = "notify_department"
# Month to date (orchestrations/month_to_date.py)
MTD_REFRESH = "mtd_refresh"   # the hourly refresh in one activity, when few partitions changed
MTD_CHANGED_PARTITIONS = "mtd_changed_partitions"
MTD_REFRESH_PARTITION = "mtd_refresh_partition"
MTD_PRICE = "mtd_price_to_date"
MTD_ALERTS = "mtd_budget_alerts"
