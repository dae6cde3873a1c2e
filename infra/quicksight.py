"""QuickSight as code: an Athena data source on the WardWatch workgroup, the data sets and the
dashboards of ``infra/dashboards_spec.py``, row-level security by hospital, and the role
QuickSight queries through (least privilege on the lake, the results bucket and the data key).

What CloudFormation cannot do, and the README says: subscribe the account to QuickSight
Enterprise edition, and create the QuickSight groups the permissions and row rules name
(``<name>-analysts``, ``<name>-hospital-H01`` ...), once, with ``aws quicksight create-group``.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_quicksight as qs
from constructs import Construct

from infra.analytics import Analytics
from infra.dashboards_spec import DASHBOARDS, DATASETS, DashboardSpec, DataSetSpec, Visual
from infra.environments import Environment
from infra.security import Keys
from infra.storage import LAKE_PREFIX, Storage

DATASET_ACTIONS = ["quicksight:DescribeDataSet", "quicksight:DescribeDataSetPermissions", "quicksight:PassDataSet",
                   "quicksight:DescribeIngestion", "quicksight:ListIngestions"]
SOURCE_ACTIONS = ["quicksight:DescribeDataSource", "quicksight:DescribeDataSourcePermissions",
                  "quicksight:PassDataSource"]
DASHBOARD_ACTIONS = ["quicksight:DescribeDashboard", "quicksight:ListDashboardVersions",
                     "quicksight:QueryDashboard"]
RLS_ID = "row-rules"


def rls_sql(groups: list[tuple[str, str | None]]) -> str:
    """The row rules as an Athena query: QuickSight group -> hospital (NULL: every hospital)."""
    rows = ", ".join(f"('{g}', {repr(h) if h else 'CAST(NULL AS varchar)'})" for g, h in groups)
    return f"SELECT groupname AS GroupName, hospital_id FROM (VALUES {rows}) AS rules (groupname, hospital_id)"


def _column(dataset: str, name: str) -> dict:
    return {"DataSetIdentifier": dataset, "ColumnName": name}


def _dimension(fid: str, dataset: str, name: str, types: dict[str, str]) -> dict:
    kind = {"INTEGER": "NumericalDimensionField", "DECIMAL": "NumericalDimensionField",
            "DATETIME": "DateDimensionField"}.get(types[name], "CategoricalDimensionField")
    field = {"FieldId": fid, "Column": _column(dataset, name)}
    if kind == "DateDimensionField":
        field["DateGranularity"] = "HOUR"
    return {kind: field}


def _measure(fid: str, v: Visual, types: dict[str, str]) -> dict:
    if v.agg in ("COUNT", "DISTINCT_COUNT") and types[v.value] in ("STRING", "DATETIME"):
        return {"CategoricalMeasureField": {"FieldId": fid, "Column": _column(v.dataset, v.value),
                                           "AggregationFunction": v.agg}}
    return {"NumericalMeasureField": {"FieldId": fid, "Column": _column(v.dataset, v.value),
                                      "AggregationFunction": {"SimpleNumericalAggregation": v.agg}}}


def visual_json(v: Visual, vid: str, types: dict[str, str]) -> dict:
    """One visual of the dashboard definition (CloudFormation's QuickSight schema)."""
    title = {"Visibility": "VISIBLE", "FormatText": {"PlainText": v.title}}
    value = _measure(f"{vid}.value", v, types)
    cat = [_dimension(f"{vid}.category", v.dataset, v.category, types)] if v.category else []
    colors = [_dimension(f"{vid}.series", v.dataset, v.series, types)] if v.series else []
    sort = {"CategorySort": [{"FieldSort": {"FieldId": f"{vid}.value", "Direction": "DESC"}}]}
    if v.limit:
        sort["CategoryItemsLimit"] = {"ItemsLimit": v.limit, "OtherCategories": "INCLUDE"}
    if v.kind == "KPI":
        return {"KPIVisual": {"VisualId": vid, "Title": title,
                              "ChartConfiguration": {"FieldWells": {"Values": [value]}}}}
    if v.kind in ("BAR", "STACKED_BAR"):
        wells = {"Category": cat, "Values": [value], **({"Colors": colors} if colors else {})}
        config = {"FieldWells": {"BarChartAggregatedFieldWells": wells}, "Orientation": "HORIZONTAL",
                  "BarsArrangement": "STACKED" if v.kind == "STACKED_BAR" else "CLUSTERED"}
        if not colors:
            config["SortConfiguration"] = sort
        return {"BarChartVisual": {"VisualId": vid, "Title": title, "ChartConfiguration": config}}
    if v.kind == "PIE":
        return {"PieChartVisual": {"VisualId": vid, "Title": title, "ChartConfiguration": {
            "FieldWells": {"PieChartAggregatedFieldWells": {"Category": cat, "Values": [value]}}}}}
    if v.kind == "FUNNEL":
        return {"FunnelChartVisual": {"VisualId": vid, "Title": title, "ChartConfiguration": {
            "FieldWells": {"FunnelChartAggregatedFieldWells": {"Category": cat, "Values": [value]}},
            "SortConfiguration": {"CategorySort": [{"FieldSort": {"FieldId": f"{vid}.category", "Direction": "ASC"}}]}}}}
    if v.kind == "LINE":
        wells = {"Category": cat, "Values": [value], **({"Colors": colors} if colors else {})}
        return {"LineChartVisual": {"VisualId": vid, "Title": title, "ChartConfiguration": {
            "FieldWells": {"LineChartAggregatedFieldWells": wells},
            "SortConfiguration": {"CategorySort": [{"FieldSort": {"FieldId": f"{vid}.category", "Direction": "ASC"}}]}}}}
    if v.kind == "TABLE":
        cols = [{"FieldId": f"{vid}.{c}", "Column": _column(v.dataset, c)} for c in v.table_columns]
        return {"TableVisual": {"VisualId": vid, "Title": title, "ChartConfiguration": {
            "FieldWells": {"TableUnaggregatedFieldWells": {"Values": cols}},
            "SortConfiguration": {"RowSort": [{"FieldSort": {"FieldId": f"{vid}.{v.value}", "Direction": "DESC"}}],
                                  **({"PaginationConfiguration": {"PageSize": v.limit, "PageNumber": 1}} if v.limit else {})}}}}
    raise ValueError(f"visual {v.title!r}: unknown kind {v.kind}")


def dashboard_definition(spec: DashboardSpec, arns: dict[str, str]) -> dict:
    types = {d.id: dict(d.columns) for d in DATASETS}
    used = sorted({v.dataset for v in spec.visuals})
    return {
        "DataSetIdentifierDeclarations": [{"Identifier": d, "DataSetArn": arns[d]} for d in used],
        "Sheets": [{"SheetId": f"{spec.id}-sheet", "Name": spec.title, "Description": spec.source,
                    "Visuals": [visual_json(v, f"{spec.id}-{i}", types[v.dataset]) for i, v in enumerate(spec.visuals)]}],
    }


class Dashboards(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, env: Environment, name: str, keys: Keys,
                 storage: Storage, analytics: Analytics) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        account, region = stack.account, stack.region
        def group(g: str) -> str:
            return f"arn:{stack.partition}:quicksight:{region}:{account}:group/default/{g}"

        analysts = group(f"{name}-analysts")
        self.tables = ("encounters", "vitals", "vitals_1m", "unit_load_5m", "alerts")  # what the data sets read
        self.role = self._role(name, keys, storage, analytics, stack)
        source = qs.CfnDataSource(
            self, "Athena", aws_account_id=account, data_source_id=f"{name}-athena", name=f"WardWatch {env.name} (Athena)",
            type="ATHENA", data_source_parameters=qs.CfnDataSource.DataSourceParametersProperty(
                athena_parameters=qs.CfnDataSource.AthenaParametersProperty(
                    work_group=analytics.workgroup_name, role_arn=self.role.role_arn)),
            ssl_properties=qs.CfnDataSource.SslPropertiesProperty(disable_ssl=False),
            permissions=[qs.CfnDataSource.ResourcePermissionProperty(principal=analysts, actions=SOURCE_ACTIONS)])
        source.node.add_dependency(analytics.workgroup)
        source.node.add_dependency(self.role)
        rules = [(f"{name}-analysts", None)] + [(f"{name}-hospital-{h}", h) for h in env.quicksight_hospitals]
        rls = DataSetSpec(RLS_ID, "Row rules: QuickSight group -> hospital", rls_sql(rules),
                          (("GroupName", "STRING"), ("hospital_id", "STRING")))
        rls_set = self._dataset(name, rls, source, analysts, account, rls_arn=None)
        self.datasets: dict[str, qs.CfnDataSet] = {RLS_ID: rls_set}
        for spec in DATASETS:
            ds = self._dataset(name, spec, source, analysts, account, rls_arn=rls_set.attr_arn)
            ds.node.add_dependency(rls_set)
            self.datasets[spec.id] = ds
            if spec.refresh:
                refresh = qs.CfnRefreshSchedule(
                    self, f"Refresh-{spec.id}", aws_account_id=account, data_set_id=f"{name}-{spec.id}",
                    schedule=qs.CfnRefreshSchedule.RefreshScheduleMapProperty(
                        schedule_id=f"{spec.id}-{spec.refresh.lower()}", refresh_type="FULL_REFRESH",
                        schedule_frequency=qs.CfnRefreshSchedule.ScheduleFrequencyProperty(
                            interval=spec.refresh, time_zone="UTC")))
                refresh.node.add_dependency(ds)
        arns = {k: v.attr_arn for k, v in self.datasets.items()}
        self.dashboards = []
        for spec in DASHBOARDS:
            board = qs.CfnDashboard(
                self, f"Dashboard-{spec.id}", aws_account_id=account, dashboard_id=f"{name}-{spec.id}",
                name=f"WardWatch {env.name}: {spec.title}",
                permissions=[qs.CfnDashboard.ResourcePermissionProperty(principal=analysts, actions=DASHBOARD_ACTIONS)]
                + [qs.CfnDashboard.ResourcePermissionProperty(principal=group(f"{name}-hospital-{h}"),
                                                              actions=DASHBOARD_ACTIONS) for h in env.quicksight_hospitals],
                dashboard_publish_options=qs.CfnDashboard.DashboardPublishOptionsProperty(
                    ad_hoc_filtering_option=qs.CfnDashboard.AdHocFilteringOptionProperty(availability_status="ENABLED"),
                    export_to_csv_option=qs.CfnDashboard.ExportToCSVOptionProperty(availability_status="DISABLED")))
            board.add_property_override("Definition", dashboard_definition(spec, arns))
            for d in {v.dataset for v in spec.visuals}:
                board.node.add_dependency(self.datasets[d])
            self.dashboards.append(board)

    def _dataset(self, name: str, spec: DataSetSpec, source: qs.CfnDataSource, analysts: str, account: str,
                 rls_arn: str | None) -> qs.CfnDataSet:
        ds = qs.CfnDataSet(
            self, f"DataSet-{spec.id}", aws_account_id=account, data_set_id=f"{name}-{spec.id}",
            name=f"WardWatch {spec.title}", import_mode=spec.mode,
            physical_table_map={"sql": qs.CfnDataSet.PhysicalTableProperty(custom_sql=qs.CfnDataSet.CustomSqlProperty(
                data_source_arn=source.attr_arn, name=spec.id, sql_query=spec.sql,
                columns=[qs.CfnDataSet.InputColumnProperty(name=c, type=t) for c, t in spec.columns]))},
            # Data preparation (import the query as it is) and the semantic table with its row rules: the
            # current model; LogicalTableMap and RowLevelPermissionDataSet at the top are deprecated.
            data_prep_configuration=qs.CfnDataSet.DataPrepConfigurationProperty(
                source_table_map={"source": qs.CfnDataSet.SourceTableProperty(physical_table_id="sql")},
                transform_step_map={"import": qs.CfnDataSet.TransformStepProperty(
                    import_table_step=qs.CfnDataSet.ImportTableOperationProperty(
                        alias="import", source=qs.CfnDataSet.ImportTableOperationSourceProperty(source_table_id="source")))},
                destination_table_map={"prepared": qs.CfnDataSet.DestinationTableProperty(
                    alias=spec.id, source=qs.CfnDataSet.DestinationTableSourceProperty(transform_operation_id="import"))}),
            semantic_model_configuration=qs.CfnDataSet.SemanticModelConfigurationProperty(table_map={
                "table": qs.CfnDataSet.SemanticTableProperty(
                    alias=spec.id, destination_table_id="prepared",
                    row_level_permission_configuration=None if rls_arn is None else
                    qs.CfnDataSet.RowLevelPermissionConfigurationProperty(
                        row_level_permission_data_set=qs.CfnDataSet.RowLevelPermissionDataSetProperty(
                            arn=rls_arn, permission_policy="GRANT_ACCESS", format_version="VERSION_1",
                            namespace="default", status="ENABLED")))}),
            permissions=[qs.CfnDataSet.ResourcePermissionProperty(principal=analysts, actions=DATASET_ACTIONS)])
        ds.node.add_dependency(source)
        return ds

    def _role(self, name: str, keys: Keys, storage: Storage, analytics: Analytics, stack: cdk.Stack) -> iam.Role:
        """What QuickSight's Athena queries may touch: the tables the data sets read, nothing else."""
        role = iam.Role(self, "QueryRole", role_name=f"{name}-quicksight-athena",
                        assumed_by=iam.ServicePrincipal("quicksight.amazonaws.com"),
                        description="QuickSight's Athena data source: the curated tables (no dead letters), "
                                    "the WardWatch workgroup and its results")
        tables = self.tables
        arn = f"arn:{stack.partition}"
        role.add_to_policy(iam.PolicyStatement(
            actions=["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
                     "athena:StopQueryExecution", "athena:GetWorkGroup", "athena:ListQueryExecutions"],
            resources=[f"{arn}:athena:{stack.region}:{stack.account}:workgroup/{analytics.workgroup_name}"]))
        role.add_to_policy(iam.PolicyStatement(
            actions=["athena:GetDataCatalog", "athena:ListDatabases", "athena:GetDatabase", "athena:ListTableMetadata",
                     "athena:GetTableMetadata"],
            resources=[f"{arn}:athena:{stack.region}:{stack.account}:datacatalog/AwsDataCatalog"]))
        role.add_to_policy(iam.PolicyStatement(
            actions=["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions"],
            resources=[f"{arn}:glue:{stack.region}:{stack.account}:catalog",
                       f"{arn}:glue:{stack.region}:{stack.account}:database/{analytics.database_name}",
                       *(f"{arn}:glue:{stack.region}:{stack.account}:table/{analytics.database_name}/{t}" for t in tables)]))
        role.add_to_policy(iam.PolicyStatement(
            actions=["s3:GetObject"], resources=[storage.lake.arn_for_objects(f"{LAKE_PREFIX}/{t}/*") for t in tables]))
        role.add_to_policy(iam.PolicyStatement(
            actions=["s3:ListBucket"], resources=[storage.lake.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{LAKE_PREFIX}/{t}/*" for t in tables] + [f"{LAKE_PREFIX}/{t}/" for t in tables]}}))
        role.add_to_policy(iam.PolicyStatement(
            actions=["s3:GetBucketLocation"], resources=[storage.lake.bucket_arn, storage.athena_results.bucket_arn]))
        role.add_to_policy(iam.PolicyStatement(
            actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
            resources=[storage.athena_results.arn_for_objects("results/*")]))
        role.add_to_policy(iam.PolicyStatement(
            actions=["s3:ListBucket", "s3:ListBucketMultipartUploads"], resources=[storage.athena_results.bucket_arn],
            conditions={"StringLike": {"s3:prefix": ["results/*", "results/"]}}))
        via_s3 = {"StringEquals": {"kms:ViaService": [f"s3.{stack.region}.amazonaws.com"]}}
        role.add_to_policy(iam.PolicyStatement(  # the lake: read only
            actions=["kms:Decrypt"], resources=[keys.data.key_arn], conditions=via_s3))
        role.add_to_policy(iam.PolicyStatement(  # Athena's results: written and read back
            actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[keys.reports.key_arn], conditions=via_s3))
        return role
