"""WardWatch's shared core: what the job, the alert delivery service, the producer and the reports all use.

Everything here but ``core.aws`` (the one way to build boto3 clients) imports neither Flink nor
boto3, so the clinical rules, schemas, detection and windows test in milliseconds.
"""
