"""S3: the staging bucket, where a build zip waits between the web request and the worker.

`StagingStorage` is a Django `Storage` over the package's shared S3 client,
so staging uses the same endpoint (`GATEHOUSE_AWS_ENDPOINT_URL`, moto's
server locally), credentials, timeouts, retries and error translation as
every other S3 call. Both directions stream: a save hands the file object to
boto3's managed transfer (multipart in 8 MiB parts, never the whole zip in
memory), an open downloads into a temporary file on the reader's disk.

Object names are the storage names the forms make
(`staged-builds/<uuid>/<file>.zip`), so the staging bucket may be shared
with other things under other prefixes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import datetime

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage
from django.utils.deconstruct import deconstructible

from .clients import AwsError, AwsTransientError, _call, _not_found, _translate, client
from .s3 import _bucket_create


def staging_bucket_name() -> str:
    return settings.GATEHOUSE_STAGING_BUCKET


@deconstructible
class StagingStorage(Storage):
    """Staged build uploads as objects in the staging bucket."""

    def __init__(self, bucket: str | None = None):
        self.bucket = bucket or staging_bucket_name()

    # --- writing --------------------------------------------------------------

    def _save(self, name: str, content) -> str:
        if hasattr(content, "seek"):
            content.seek(0)
        try:
            client("s3").upload_fileobj(
                getattr(content, "file", content),
                self.bucket,
                name,
                ExtraArgs={"ContentType": "application/zip", "ServerSideEncryption": "AES256"},
            )
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, "upload_fileobj") from exc
        except S3UploadFailedError as exc:
            # boto3's transfer wraps the ClientError in its message only.
            raise AwsTransientError(f"upload_fileobj: {exc}", code="S3UploadFailed", operation="upload_fileobj") from exc
        return name

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        # Names carry a fresh uuid: no collision to look for, no HeadObject.
        return name

    def delete(self, name: str) -> None:
        try:
            _call(client("s3"), "delete_object", Bucket=self.bucket, Key=name)
        except AwsError as exc:
            if not _not_found(exc):
                raise

    # --- reading --------------------------------------------------------------

    def _open(self, name: str, mode: str = "rb") -> File:
        if "w" in mode or "a" in mode:
            raise ValueError("staged builds are written with save(), not open()")
        handle = tempfile.TemporaryFile()
        try:
            client("s3").download_fileobj(self.bucket, name, handle)
        except ClientError as exc:
            handle.close()
            error = _translate(exc, "download_fileobj")
            if _not_found(error):
                raise FileNotFoundError(name) from exc
            raise error from exc
        except BotoCoreError as exc:
            handle.close()
            raise _translate(exc, "download_fileobj") from exc
        handle.seek(0)
        return File(handle, name=name)

    def _head(self, name: str) -> dict | None:
        try:
            return _call(client("s3"), "head_object", Bucket=self.bucket, Key=name)
        except AwsError as exc:
            if _not_found(exc):
                return None
            raise

    def exists(self, name: str) -> bool:
        return self._head(name) is not None

    def size(self, name: str) -> int:
        head = self._head(name)
        if head is None:
            raise FileNotFoundError(name)
        return int(head["ContentLength"])

    def get_modified_time(self, name: str) -> datetime:
        head = self._head(name)
        if head is None:
            raise FileNotFoundError(name)
        return head["LastModified"]

    def url(self, name: str) -> str:
        raise NotImplementedError("staged builds are never served")

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        prefix = path.rstrip("/") + "/" if path else ""
        folders, files = [], []
        paginator = client("s3").get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
                folders += [p["Prefix"][len(prefix) :].rstrip("/") for p in page.get("CommonPrefixes", [])]
                files += [o["Key"][len(prefix) :] for o in page.get("Contents", [])]
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, "list_objects_v2") from exc
        return folders, files

    def staged_files(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        """Every object under `prefix`, with when it was written (one listing, however deep)."""
        paginator = client("s3").get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield item["Key"], item["LastModified"]
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, "list_objects_v2") from exc


def staging_bucket_ensure(*, name: str | None = None) -> str:
    """A private staging bucket (public access blocked, owner-enforced); its name."""
    name = name or staging_bucket_name()
    _bucket_create(name)
    _call(
        client("s3"),
        "put_bucket_encryption",
        Bucket=name,
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
    )
    return name
