"""WardWatch reports: Athena (Trino) SQL written once, run by Athena on AWS and by DuckDB locally."""
