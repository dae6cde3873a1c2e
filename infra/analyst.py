"""Analyst access: views without patient ids or free text, enforced by Lake Formation column grants.

Views alone would not protect anything: whoever may read a view's tables in S3 may query the
tables. So the curated tables are governed by Lake Formation (the lake prefix is a registered
location, the databases give IAM principals no default access), and every reader gets a grant:

- the **analyst role** (assumed with MFA): its own workgroup and result prefix, the analyst
  database's views (``core/schema/analyst.py``), and SELECT on the curated tables' other columns
  only, so a query on a table itself cannot reach a withheld column either; no S3 access of
  its own (Lake Formation vends the reads) and an explicit deny on the data buckets;
- the daily-report Lambda and QuickSight's role: SELECT on the tables they read, as before.

Prerequisite, once per account: the CloudFormation execution role of ``cdk bootstrap`` is a Lake
Formation data-lake administrator (README, "Analyst access"); the stack does not overwrite the
account's Lake Formation settings.
"""

from __future__ import annotations

import base64
import json

import aws_cdk as cdk
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lakeformation as lf
from constructs import Construct

from core.schema.analyst import analyst_tables, view_columns, view_sql, withheld_columns
from core.schema.tables import TABLES
from infra.analytics import Analytics, report_tables, workgroup
from infra.environments import Environment
from infra.glue_schema import PARTITION_KEYS, glue_type, view_type
from infra.security import Keys
from infra.storage import LAKE_PREFIX, Storage

RESULTS_PREFIX = "analyst"


def presto_view(table: str, database: str) -> dict[str, str]:
    """The Glue ``ViewOriginalText`` Athena reads a view from: its SQL and column types, base64 JSON."""
    types = {f.name: view_type(f.type) for f in TABLES[table]} | {"dt": "varchar", "hour": "integer"}
    spec = {"originalSql": view_sql(table, database), "catalog": "awsdatacatalog", "schema": database,
            "columns": [{"name": c, "type": types[c]} for c in view_columns(table)]}
    return {"original": f"/* Presto View: {base64.b64encode(json.dumps(spec).encode()).decode()} */",
            "expanded": "/* Presto View */"}


class AnalystAccess(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, env: Environment, name: str, keys: Keys,
                 storage: Storage, analytics: Analytics, quicksight_role: iam.IRole, quicksight_tables: tuple[str, ...],
                 removal: cdk.RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.account = stack.account
        self.analytics = analytics
        self.database_name = f"{analytics.database_name}_analyst"
        database = glue.CfnDatabase(self, "Database", catalog_id=stack.account, database_input=glue.CfnDatabase.DatabaseInputProperty(
            name=self.database_name, create_table_default_permissions=[],
            description="WardWatch analyst views: pseudonymous keys, no patient or encounter ids, no free text"))
        database.apply_removal_policy(removal)
        self.views: dict[str, glue.CfnTable] = {}
        for table in analyst_tables():
            text = presto_view(table, analytics.database_name)
            types = {f.name: glue_type(f.type) for f in TABLES[table]} | {k["name"]: k["type"] for k in PARTITION_KEYS}
            view = glue.CfnTable(
                self, f"View-{table}", catalog_id=stack.account, database_name=self.database_name,
                table_input=glue.CfnTable.TableInputProperty(
                    name=table, table_type="VIRTUAL_VIEW", parameters={"presto_view": "true", "comment": "Presto View"},
                    view_original_text=text["original"], view_expanded_text=text["expanded"],
                    storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                        serde_info=glue.CfnTable.SerdeInfoProperty(),
                        columns=[glue.CfnTable.ColumnProperty(name=c, type=types[c]) for c in view_columns(table)])))
            view.node.add_dependency(database)
            view.apply_removal_policy(removal)
            self.views[table] = view

        self.workgroup_name = f"{name}-analyst"
        self.workgroup = workgroup(
            self, self.workgroup_name, "WardWatch analysts: the analyst views only, encrypted results, bytes-scanned limit",
            f"s3://{storage.athena_results.bucket_name}/{RESULTS_PREFIX}/", env=env, keys=keys, removal=removal)

        self._govern_lake(stack, storage, keys)
        self.role = self._analyst_role(stack, name, storage, keys)
        self._grant_analyst()
        self.grant_select(analytics.daily_reports.role, "Reports", report_tables())
        self.grant_select(quicksight_role, "QuickSight", quicksight_tables)

    def _govern_lake(self, stack: cdk.Stack, storage: Storage, keys: Keys) -> None:
        """The lake prefix as a Lake Formation location: Athena reads it with credentials Lake
        Formation vends from this role, for principals granted the table's columns."""
        role = iam.Role(self, "LakeFormationAccess", assumed_by=iam.ServicePrincipal("lakeformation.amazonaws.com"),
                        description="Lake Formation reads the curated tables for the principals it has granted")
        tables = [f"{LAKE_PREFIX}/{t}" for t in TABLES]
        role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"],
                                               resources=[storage.lake.arn_for_objects(f"{t}/*") for t in tables]))
        role.add_to_policy(iam.PolicyStatement(actions=["s3:ListBucket"], resources=[storage.lake.bucket_arn],
                                               conditions={"StringLike": {"s3:prefix": [f"{t}/*" for t in tables]}}))
        role.add_to_policy(iam.PolicyStatement(
            actions=["kms:Decrypt"], resources=[keys.data.key_arn],
            conditions={"StringEquals": {"kms:ViaService": [f"s3.{stack.region}.amazonaws.com"]}}))
        self.location = lf.CfnResource(self, "LakeLocation", resource_arn=storage.lake.arn_for_objects(LAKE_PREFIX),
                                       use_service_linked_role=False, role_arn=role.role_arn)
        self.location.node.add_dependency(role)

    def _analyst_role(self, stack: cdk.Stack, name: str, storage: Storage, keys: Keys) -> iam.Role:
        role = iam.Role(
            self, "Role", role_name=f"{name}-analyst", max_session_duration=cdk.Duration.hours(1),
            assumed_by=iam.AccountPrincipal(stack.account).with_conditions({"Bool": {"aws:MultiFactorAuthPresent": "true"}}),
            description="WardWatch analysts: the analyst views in the analyst workgroup; no ids, no free text, no raw data")
        arn = f"arn:{stack.partition}"
        catalog = f"{arn}:glue:{stack.region}:{stack.account}"
        role.add_to_policy(iam.PolicyStatement(
            actions=["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
                     "athena:StopQueryExecution", "athena:GetWorkGroup", "athena:ListQueryExecutions"],
            resources=[f"{arn}:athena:{stack.region}:{stack.account}:workgroup/{self.workgroup_name}"]))
        role.add_to_policy(iam.PolicyStatement(  # the views, and the tables Athena resolves them to
            actions=["glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables", "glue:GetPartitions"],
            resources=[f"{catalog}:catalog", f"{catalog}:database/{self.database_name}",
                       f"{catalog}:table/{self.database_name}/*", f"{catalog}:database/{self.analytics.database_name}",
                       *(f"{catalog}:table/{self.analytics.database_name}/{t}" for t in analyst_tables())]))
        role.add_to_policy(iam.PolicyStatement(actions=["lakeformation:GetDataAccess"], resources=["*"]))
        results = storage.athena_results
        role.add_to_policy(iam.PolicyStatement(
            actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
            resources=[results.arn_for_objects(f"{RESULTS_PREFIX}/*")]))
        role.add_to_policy(iam.PolicyStatement(
            actions=["s3:ListBucket", "s3:GetBucketLocation"], resources=[results.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{RESULTS_PREFIX}/*", f"{RESULTS_PREFIX}/"]}}))
        role.add_to_policy(iam.PolicyStatement(
            actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[keys.reports.key_arn],
            conditions={"StringEquals": {"kms:ViaService": [f"s3.{stack.region}.amazonaws.com"]}}))
        # Never the data itself, whatever else is attached to the role later: reads go through Lake Formation.
        data = [storage.lake, storage.quarantine, storage.raw]
        role.add_to_policy(iam.PolicyStatement(
            effect=iam.Effect.DENY, actions=["s3:*"],
            resources=[r for b in data for r in (b.bucket_arn, b.arn_for_objects("*"))]))
        role.add_to_policy(iam.PolicyStatement(
            effect=iam.Effect.DENY, actions=["kms:Decrypt"],
            resources=[keys.data.key_arn, keys.quarantine.key_arn, keys.raw.key_arn, keys.pseudonym.key_arn]))
        return role

    def _permit(self, cid: str, principal: iam.IRole, permissions: list[str], resource: dict) -> None:
        grant = lf.CfnPrincipalPermissions(
            self, cid, permissions=permissions, permissions_with_grant_option=[],
            principal=lf.CfnPrincipalPermissions.DataLakePrincipalProperty(data_lake_principal_identifier=principal.role_arn),
            resource=lf.CfnPrincipalPermissions.ResourceProperty(**resource))
        grant.node.add_dependency(self.location)
        for table in (*self.analytics.tables.values(), *self.views.values()):
            grant.node.add_dependency(table)

    def _grant_analyst(self) -> None:
        for db in (self.database_name, self.analytics.database_name):
            self._permit(f"Analyst-{db}", self.role, ["DESCRIBE"], {"database": lf.CfnPrincipalPermissions.DatabaseResourceProperty(
                catalog_id=self.account, name=db)})
        for table in analyst_tables():
            self._permit(f"Analyst-view-{table}", self.role, ["SELECT", "DESCRIBE"], {
                "table": lf.CfnPrincipalPermissions.TableResourceProperty(
                    catalog_id=self.account, database_name=self.database_name, name=table)})
            self._permit(f"Analyst-columns-{table}", self.role, ["SELECT"], {
                "table_with_columns": lf.CfnPrincipalPermissions.TableWithColumnsResourceProperty(
                    catalog_id=self.account, database_name=self.analytics.database_name, name=table,
                    column_wildcard=lf.CfnPrincipalPermissions.ColumnWildcardProperty(
                        excluded_column_names=withheld_columns(table)))})

    def grant_select(self, principal: iam.IRole, label: str, tables) -> None:
        """Every column of ``tables`` to a service that reads them through Athena (no analyst)."""
        principal.add_to_principal_policy(iam.PolicyStatement(actions=["lakeformation:GetDataAccess"], resources=["*"]))
        self._permit(f"{label}-database", principal, ["DESCRIBE"], {"database": lf.CfnPrincipalPermissions.DatabaseResourceProperty(
            catalog_id=self.account, name=self.analytics.database_name)})
        for table in tables:
            self._permit(f"{label}-{table}", principal, ["SELECT"], {"table": lf.CfnPrincipalPermissions.TableResourceProperty(
                catalog_id=self.account, database_name=self.analytics.database_name, name=table)})
