"""Who the end-to-end canary is: the synthetic hospital, unit and bed its runs use.

One place, because four parts must agree: the canary Lambda sends as them (``producer/canary.py``),
the subscriptions route on them (the canary queue takes them, every clinical subscription
refuses them: ``infra/alerting.py``, ``infra/local/stack.py``), and the job keeps the canary's
rows out of the curated lake (``flink_app/operators.py`` ``LakeSink``), so no report, dashboard,
ward board or analyst ever counts a synthetic patient. Plain constants: the Lambda ships this file.
"""

from __future__ import annotations

CANARY_HOSPITAL = "CANARY"
CANARY_UNIT = "CANARY"
CANARY_BED = "CANARY-1"
