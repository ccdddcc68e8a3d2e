"""Every boto3 call the console makes, in domain terms.

The rest of the console imports this package only (`from sites import aws`),
never boto3 and never a module of the package: it calls these functions and
sees `AwsError` / `AwsTransientError`, never a botocore exception.

  clients.py              cached clients, error translation, names from settings
  policies.py             policy documents (pure data)
  distribution_config.py  the DistributionConfig builder (pure data)
  s3.py, kms.py, iam.py, lambda_.py, cloudfront.py, logs.py, ses.py   one module per service
  staging.py              the staging bucket: StagingStorage, where a build zip waits for the worker
"""

from .clients import (
    TAG_KEY,
    AwsConflict,
    AwsError,
    AwsTransientError,
    EdgeFunctionNotReady,
    account_id,
    client,
    clients_reset,
    config_bucket_name,
    config_key_alias,
    config_prefix,
    console_id,
    console_principal_arn,
    console_principal_configured,
    edge_function_base_name,
    edge_role_name,
    region,
)
from .cloudfront import (
    distribution_config_get,
    distribution_delete,
    distribution_disable,
    distribution_ensure,
    distribution_find_by_caller_reference,
    distribution_get,
    distribution_status,
    distribution_update,
    invalidation_create,
    oac_ensure,
)
from .distribution_config import (
    CACHING_OPTIMIZED_POLICY_ID,
    ORIGIN_ID,
    SECURITY_HEADERS_POLICY_ID,
    distribution_config_new,
    distribution_settings_apply,
    is_numbered_version_arn,
)
from .kms import CONSOLE_TAG_KEY, config_key_ensure
from .lambda_ import (
    EDGE_HANDLER,
    EDGE_MEMORY_MB,
    EDGE_REGION,
    EDGE_TIMEOUT_SECONDS,
    MAX_ASSOCIATIONS_PER_FUNCTION,
    FunctionState,
    PublishedVersion,
    edge_function_code_put,
    edge_function_publish,
    edge_function_state,
    edge_role_ensure,
    edge_version_publish,
    function_name_for_index,
)
from .logs import (
    EDGE_LOG_REGIONS,
    LOG_RETENTION_DAYS,
    buckets_reachable,
    VISIT_FILTER,
    edge_log_events,
    edge_log_group_name,
    edge_log_retention_ensure,
    edge_log_retention_get,
)
from .policies import config_key_policy, edge_role_policy, key_policy_merge, edge_role_trust_policy, site_bucket_policy
from .ses import email_identity_ensure, email_send_raw
from .s3 import (
    NOT_FOUND_PAGE_KEY,
    NOT_FOUND_PAGE_PATH,
    bucket_exists,
    build_object_put,
    config_bucket_ensure,
    config_object_delete,
    config_object_digest,
    config_object_key,
    config_object_put,
    not_found_page_put,
    object_copy,
    object_delete,
    object_sha256,
    object_size,
    site_bucket_empty_and_delete,
    site_bucket_ensure,
    site_bucket_policy_put,
    upload_url_presign,
)
from .staging import StagingStorage, staging_bucket_ensure, staging_bucket_name
