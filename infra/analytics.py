"""Glue tables over the curated lake (partition projection: no crawler) and the Athena workgroup.

Columns come from the job's Parquet schemas (``infra/glue_schema.py``), so Athena reads what
the job writes; a test compares them.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from constructs import Construct

from flink_app.schema.tables import TABLES
from infra.environments import Environment
from infra.glue_schema import PARTITION_KEYS, glue_columns, projection_parameters
from infra.security import Keys
from infra.storage import Storage

PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"


class Analytics(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, env: Environment, name: str, keys: Keys,
                 storage: Storage, removal: cdk.RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.database_name = name.replace("-", "_")
        database = glue.CfnDatabase(self, "Database", catalog_id=stack.account, database_input=glue.CfnDatabase.DatabaseInputProperty(
            name=self.database_name, description="WardWatch curated lake (Parquet, partitioned dt/hour, UTC)"))
        database.apply_removal_policy(removal)
        self.tables: dict[str, glue.CfnTable] = {}
        for table in TABLES:
            location = f"s3://{storage.lake.bucket_name}/lake/{table}/"
            cfn = glue.CfnTable(
                self, f"Table-{table}", catalog_id=stack.account, database_name=self.database_name,
                table_input=glue.CfnTable.TableInputProperty(
                    name=table, table_type="EXTERNAL_TABLE", parameters=projection_parameters(location),
                    partition_keys=[glue.CfnTable.ColumnProperty(**k) for k in PARTITION_KEYS],
                    storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                        location=location, input_format=PARQUET_INPUT, output_format=PARQUET_OUTPUT,
                        serde_info=glue.CfnTable.SerdeInfoProperty(serialization_library=PARQUET_SERDE),
                        columns=[glue.CfnTable.ColumnProperty(**c) for c in glue_columns(table)])))
            cfn.node.add_dependency(database)
            cfn.apply_removal_policy(removal)
            self.tables[table] = cfn
        self.workgroup_name = f"{name}-analytics"
        self.results_uri = f"s3://{storage.athena_results.bucket_name}/results/"
        self.workgroup = athena.CfnWorkGroup(
            self, "WorkGroup", name=self.workgroup_name, state="ENABLED",
            description="WardWatch reports: encrypted results, bytes-scanned limit per query",
            recursive_delete_option=removal == cdk.RemovalPolicy.DESTROY,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True, publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=env.athena_bytes_scanned_limit,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=self.results_uri,
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=keys.data.key_arn))))
