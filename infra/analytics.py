"""Glue tables over the curated lake (partition projection: no crawler) and the Athena workgroup.

Columns come from the job's Parquet schemas (``infra/glue_schema.py``), so Athena reads what
the job writes; a test compares them.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_athena as athena
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from core.schema.tables import TABLES
from infra.environments import Environment
from infra.glue_schema import PARTITION_KEYS, glue_columns, projection_parameters
from infra.lambda_source import staged
from infra.security import Keys
from infra.storage import LAKE_PREFIX, Storage
from reports.catalog import load as load_reports

# The Lambda ships only what it runs: the report catalogue, its SQL and the handler.
LAMBDA_FILES = ["reports/__init__.py", "reports/catalog.py", "reports/scheduled.py", "reports/sql/*.sql"]


PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"


def report_tables() -> list[str]:
    """The curated tables the reports' SQL reads (sqlglot), sorted."""
    import sqlglot
    from sqlglot import exp

    used: set[str] = set()
    for report in load_reports():
        tree = sqlglot.parse_one(report.sql.replace("${day}", "2000-01-01"), read="trino")
        ctes = {c.alias for c in tree.find_all(exp.CTE)}
        used |= {t.name for t in tree.find_all(exp.Table)} - ctes
    unknown = used - set(TABLES)
    if unknown:
        raise ValueError(f"reports read tables that are not curated tables: {sorted(unknown)}")
    return sorted(used)


def workgroup(scope: Construct, name: str, description: str, results_uri: str, *, env: Environment, keys: Keys,
              removal: cdk.RemovalPolicy) -> athena.CfnWorkGroup:
    """An Athena workgroup whose settings its users cannot override: engine 3, SSE-KMS results with
    the reports key, a bytes-scanned limit per query, CloudWatch metrics."""
    group = athena.CfnWorkGroup(
        scope, "WorkGroup", name=name, state="ENABLED", description=description,
        recursive_delete_option=removal == cdk.RemovalPolicy.DESTROY,
        work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
            enforce_work_group_configuration=True, publish_cloud_watch_metrics_enabled=True,
            bytes_scanned_cutoff_per_query=env.athena_bytes_scanned_limit,
            engine_version=athena.CfnWorkGroup.EngineVersionProperty(selected_engine_version="Athena engine version 3"),
            result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                output_location=results_uri,
                encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                    encryption_option="SSE_KMS", kms_key=keys.reports.key_arn))))
    group.apply_removal_policy(removal)
    return group


class Analytics(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, env: Environment, name: str, keys: Keys,
                 storage: Storage, removal: cdk.RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.database_name = name.replace("-", "_")
        database = glue.CfnDatabase(self, "Database", catalog_id=stack.account, database_input=glue.CfnDatabase.DatabaseInputProperty(
            name=self.database_name, description="WardWatch curated lake (Parquet, partitioned dt/hour, UTC)",
            # No default grant to IAM principals: Lake Formation's column grants decide who reads what (infra/analyst.py).
            create_table_default_permissions=[]))
        database.apply_removal_policy(removal)
        self.tables: dict[str, glue.CfnTable] = {}
        for table in TABLES:
            location = f"s3://{storage.lake.bucket_name}/{LAKE_PREFIX}/{table}/"
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
        self.workgroup = workgroup(self, self.workgroup_name, "WardWatch reports: encrypted results, bytes-scanned "
                                   "limit per query", self.results_uri, env=env, keys=keys, removal=removal)

        # The reports as Athena named queries (the same SQL the local engine runs; ${day} = YYYY-MM-DD).
        self.named_queries = []
        for report in load_reports():
            nq = athena.CfnNamedQuery(self, f"Report-{report.name}", database=self.database_name,
                                      work_group=self.workgroup_name, name=f"{report.name} {report.title}"[:128],
                                      description=report.source[:1024] or report.title, query_string=report.sql)
            nq.node.add_dependency(self.workgroup)
            self.named_queries.append(nq)
        self._daily_reports(env, name, keys, storage)

    def _daily_reports(self, env: Environment, name: str, keys: Keys, storage: Storage) -> None:
        """EventBridge, every day at 06:00 UTC -> a Lambda that runs every report for yesterday."""
        stack = cdk.Stack.of(self)
        log_group = logs.LogGroup(self, "DailyReportsLog", log_group_name=f"{name}-daily-reports",
                                  retention=logs.RetentionDays.THREE_MONTHS, encryption_key=keys.data,
                                  removal_policy=cdk.RemovalPolicy.DESTROY if not env.retain_data else cdk.RemovalPolicy.RETAIN)
        dlq = sqs.Queue(self, "DailyReportsDeadLetters", queue_name=f"{name}-daily-reports-dlq",
                        encryption_master_key=keys.reports, enforce_ssl=True, retention_period=cdk.Duration.days(14))
        with staged(LAMBDA_FILES) as source:
            fn = lambda_.Function(
                self, "DailyReports", function_name=f"{name}-daily-reports", runtime=lambda_.Runtime.PYTHON_3_12,
                handler="reports.scheduled.handler",
                code=lambda_.Code.from_asset(source),
                timeout=cdk.Duration.minutes(15), memory_size=256, reserved_concurrent_executions=1,
                environment={"DATABASE": self.database_name, "WORKGROUP": self.workgroup_name,
                             "RESULTS_BUCKET": storage.athena_results.bucket_name, "RESULTS_KEY_ARN": keys.reports.key_arn},
                environment_encryption=keys.data, dead_letter_queue=dlq, log_group=log_group,
                tracing=lambda_.Tracing.ACTIVE, description="WardWatch daily reports: Athena -> CSV in S3")
        fn.node.default_child.add_metadata("checkov", {"skip": [{
            "id": "CKV_AWS_117", "comment": "Calls only AWS APIs (Athena, Glue, S3, KMS); no VPC resources to reach, "
                                            "so a VPC would add NAT cost without reducing exposure."}]})
        workgroup_arn = f"arn:{stack.partition}:athena:{stack.region}:{stack.account}:workgroup/{self.workgroup_name}"
        fn.add_to_role_policy(iam.PolicyStatement(
            actions=["athena:StartQueryExecution", "athena:GetQueryExecution"], resources=[workgroup_arn]))
        catalog = f"arn:{stack.partition}:glue:{stack.region}:{stack.account}"
        used = report_tables()  # only the tables the reports read: never dead_letter
        fn.add_to_role_policy(iam.PolicyStatement(
            actions=["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartitions"],
            resources=[f"{catalog}:catalog", f"{catalog}:database/{self.database_name}",
                       *(f"{catalog}:table/{self.database_name}/{t}" for t in used)]))
        fn.add_to_role_policy(iam.PolicyStatement(
            actions=["s3:GetObject"], resources=[storage.lake.arn_for_objects(f"{LAKE_PREFIX}/{t}/*") for t in used]))
        fn.add_to_role_policy(iam.PolicyStatement(
            actions=["s3:ListBucket", "s3:GetBucketLocation"], resources=[storage.lake.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{LAKE_PREFIX}/{t}/*" for t in used]}}))
        storage.athena_results.grant_read_write(fn)  # the reports key: encrypt and decrypt results
        fn.add_to_role_policy(iam.PolicyStatement(  # the lake's key: decrypt only, and only through S3
            actions=["kms:Decrypt"], resources=[keys.data.key_arn],
            conditions={"StringEquals": {"kms:ViaService": [f"s3.{stack.region}.amazonaws.com"]}}))
        events.Rule(self, "Daily", rule_name=f"{name}-daily-reports", schedule=events.Schedule.cron(minute="0", hour="6"),
                    targets=[targets.LambdaFunction(fn, retry_attempts=2, dead_letter_queue=dlq)])
        self.daily_reports = fn
