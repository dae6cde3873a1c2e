"""Simulated hospitals on a stream: physiology-based vital signs written to Kinesis or a file."""
