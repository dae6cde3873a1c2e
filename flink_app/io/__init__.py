"""I/O adapters at the edges of the job: Kinesis in, Parquet and SNS out (boto3, pyarrow)."""
