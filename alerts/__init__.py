"""Alert delivery, a service of its own: the KCL consumer of the alerts stream, rendering, routing, the page ledger, SNS."""
