"""Report building: tables and summaries from metrics JSON files."""
