"""The raw zone: every record of the readings stream kept unchanged, so a day can be rebuilt.

The job's curated lake holds what the job made of each record; the raw zone holds the record
itself, beside the job rather than after it, written by a second consumer of the stream: on AWS
a Firehose delivery stream (``archive/firehose.py`` is its transform Lambda), locally
``python -m archive`` (``archive/local.py``), both in the one format of ``archive/raw_format.py``.
``python -m archive.reprocess`` puts a raw day back on a stream for a job on a fresh lineage.
"""
