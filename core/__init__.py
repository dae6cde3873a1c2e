"""WardWatch's shared core: what the job, the alert delivery service, the producer and the reports all use.

Everything here but ``core.aws`` (the one way to build boto3 clients) and ``core.kinesis_reader``
(polling shards, shared by the job and the local raw-zone archiver) imports neither Flink nor
boto3, so the clinical rules, schemas, detection and windows test in milliseconds.
"""
