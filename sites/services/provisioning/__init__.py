"""Provisioning: sites to AWS resources and back, one Deployment per run.

  engine.py         deployment_run (a table from kind to workflow), deployments_sweep, deployment_fail
  steps.py          recording a deployment and its steps; Progress, Wait, StepFailed
  manifest_deploy.py  the web half of a deploy that sends only what changed
  provision.py, redeploy.py, build_upload.py, teardown.py, edge_releases.py   one workflow each
  rollout.py        an edge release to every site: one Rollout row, batches in the worker, a sweep for Deployed
  names.py, site_config.py   what two workflows share

Each `*_start` service runs in a request: it records a Deployment and
enqueues its task on commit, and never calls AWS. The task runs
`deployment_run`, which calls the service for the deployment's kind.

Every run is safe to repeat from any point (a second delivery, a worker
killed half-way, a retry after a throttle):
- AWS names derive from the site (bucket name, CallerReference), and are
  written to the row before or right after the call that creates them, so a
  crash in between is recovered by looking the name up, never by creating a
  second resource;
- a step that succeeded is not run again; one that did not is re-run, and
  each step is idempotent on its own;
- nothing waits for AWS: a step that must wait raises `Wait`, the task
  re-enqueues itself with a countdown, and the next run resumes there.
"""

from .build_upload import build_deployment_start, build_upload, build_upload_start
from .edge_releases import edge_release_publish, edge_release_publish_start, edge_settings, edge_zip, sites_per_function
from .engine import RUNNERS, deployment_fail, deployment_run, deployments_sweep
from .manifest_deploy import (
    ManifestRefused,
    Upload,
    manifest_deploy_create,
    manifest_deploy_finalise,
    manifest_file_receive,
    manifest_uploads_pending,
)
from .names import site_bucket_name, site_caller_reference
from .provision import provisions_waiting_on_config_wake, site_provision, site_provision_start
from .redeploy import site_move_release, site_redeploy, site_redeploy_start
from .rollout import rollout_advance, rollout_start, rollouts_sweep
from .steps import Progress, StepFailed, Wait
from .teardown import site_teardown, site_teardown_start
