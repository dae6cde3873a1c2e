"""WardWatch streaming job: clinical core, schema, operators and I/O adapters."""
