"""Alert delivery: the SNS contract (attributes for filter policies), publishing, the local pager."""
