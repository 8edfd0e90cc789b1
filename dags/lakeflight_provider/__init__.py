"""lakeflight_provider: Airflow building blocks for a lakeflight server, shaped like an Airflow
provider package but kept in the DAGs folder (.airflowignore keeps the DAG processor out of it).

- hook.LakeflightHook: the server from an Airflow Connection; HTTP sidecar and Flight SQL (ADBC);
- sensors.LandingFilesSensor and landing: the landing folder, archive and quarantine;
- ingest.IngestFilesOperator, transform.TransformOperator (dbt build, test, source freshness),
  maintenance.MaintenanceOperator, checks.QualityChecksOperator (row counts, null rates);
- triggers: the deferred waits (a dbt run, a maintenance job, files to land);
- notify.notify_failure: the failure callback (task log, and a webhook when configured);
- defaults: task defaults and the BRONZE and GOLD Assets.

Errors come in two kinds. What a retry may cure (the server unreachable, an HTTP 5xx, a poll that
kept failing) raises AirflowException and gets the task's retries with exponential backoff.
Verdicts (dbt failed, a check failed, the token was refused) raise AirflowFailException: the task
fails at once, without retries that would only repeat them, and the failure callback tells someone.
"""

from .checks import QualityChecksOperator
from .defaults import BRONZE, GOLD, START_DATE, default_args
from .hook import FileRejected, LakeflightError, LakeflightHook
from .ingest import IngestFilesOperator
from .maintenance import MAINTENANCE_ACTIONS, MaintenanceOperator
from .notify import notify_failure
from .sensors import LandingFilesSensor
from .transform import TransformOperator

__all__ = [
    "BRONZE",
    "MAINTENANCE_ACTIONS",
    "GOLD",
    "START_DATE",
    "FileRejected",
    "IngestFilesOperator",
    "LakeflightError",
    "LakeflightHook",
    "LandingFilesSensor",
    "MaintenanceOperator",
    "QualityChecksOperator",
    "TransformOperator",
    "default_args",
    "notify_failure",
]
