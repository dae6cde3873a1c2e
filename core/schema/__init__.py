"""Event schema (readings, encounters, alerts) and the curated tables' Parquet schemas."""
