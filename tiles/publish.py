"""Publish an edge export (tiles/archive.py) where a CDN reads it: a directory, or an
S3-compatible bucket (`s3://bucket/prefix`, boto3; endpoint from DJMAP_S3_ENDPOINT, credentials
and region from the usual AWS_* variables).

Archives go first and are immutable (`Cache-Control: public, max-age=31536000, immutable`; an
archive name already there is never sent again: its name is its data, and a client may hold its
header and directories). `index.json`
goes last with a short max-age, so it never names an archive that is not there yet.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from geo.errors import DjmapError, InvalidInput, Unavailable
from tiles.archive import INDEX, SUFFIX, read_index

ARCHIVE_CACHE = "public, max-age=31536000, immutable"
INDEX_CACHE = "public, max-age=60"
ARCHIVE_TYPE = "application/vnd.pmtiles"
INDEX_TYPE = "application/json"
HEADERS_FILE = "_headers"  # the headers of a directory, for hosts that read it (Netlify, Pages)


class PublishSettings(BaseSettings):
    """Where `s3://` destinations live (the AWS_* variables give credentials and region)."""

    model_config = SettingsConfigDict(env_prefix="DJMAP_", extra="ignore")

    s3_endpoint: str | None = Field(
        default=None, description="S3 API endpoint URL (MinIO, moto, a cloud's); unset: AWS"
    )


class Target(Protocol):
    """Where files are published."""

    def has(self, name: str) -> bool:
        """True when `name` is there."""

    def put(self, name: str, path: Path, content_type: str, cache_control: str) -> None:
        """Store the file at `path` as `name` with these headers."""


@dataclass
class Published:
    """What a publish did."""

    dest: str
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class DirTarget:
    """A directory a web server or CDN origin serves (headers written to `_headers`)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def has(self, name: str) -> bool:
        return (self.root / name).is_file()

    def put(self, name: str, path: Path, content_type: str, cache_control: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.root / name
        if target.exists() and target.samefile(path):
            return
        part = self.root / f".{name}.{os.getpid()}.part"
        try:
            shutil.copyfile(path, part)
            part.replace(target)
        finally:
            part.unlink(missing_ok=True)

    def write_headers(self) -> None:
        """`_headers`: the cache headers for hosts that read them from the folder."""
        text = (
            f"/*{SUFFIX}\n  Cache-Control: {ARCHIVE_CACHE}\n  Content-Type: {ARCHIVE_TYPE}\n"
            f"/{INDEX}\n  Cache-Control: {INDEX_CACHE}\n  Content-Type: {INDEX_TYPE}\n"
        )
        (self.root / HEADERS_FILE).write_text(text, encoding="utf-8")


class S3Target:
    """A bucket and key prefix of an S3-compatible store."""

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket, self.prefix, self.client = bucket, prefix, client

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def has(self, name: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(name))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def put(self, name: str, path: Path, content_type: str, cache_control: str) -> None:
        extra = {"ContentType": content_type, "CacheControl": cache_control}
        self.client.upload_file(str(path), self.bucket, self.key(name), ExtraArgs=extra)


def s3_client(settings: PublishSettings | None = None) -> Any:
    """A boto3 S3 client for the configured endpoint (path-style addressing off AWS)."""
    import boto3
    from botocore.config import Config

    endpoint = (settings or PublishSettings()).s3_endpoint
    config = Config(
        retries={"max_attempts": 5, "mode": "standard"},
        s3={"addressing_style": "path"} if endpoint else None,
    )
    return boto3.client("s3", endpoint_url=endpoint, config=config)


def target_for(dest: str, client: Any = None) -> Target:
    """The target a destination names: `s3://bucket[/prefix]` or a directory path."""
    parts = urlsplit(dest)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise InvalidInput(f"an S3 destination looks like s3://bucket/prefix, got {dest!r}")
        return S3Target(parts.netloc, parts.path.strip("/"), client or s3_client())
    if parts.scheme and len(parts.scheme) > 1:  # a Windows drive letter is no scheme
        raise InvalidInput(f"unsupported destination {dest!r} (s3://bucket/prefix or a folder)")
    return DirTarget(Path(dest))


def archives_of(src: Path) -> list[Path]:
    """The archive files `index.json` in `src` names (InvalidInput when one is missing)."""
    index = read_index(src)
    if not index:
        raise InvalidInput(f"no {INDEX} in {src}: run `djmap tiles export --all-public` first")
    found = []
    for entry in index.values():
        name = entry.archive
        if name is None:
            continue  # a layer with no tiles
        if Path(name).name != name or not name.endswith(SUFFIX) or name.startswith("."):
            raise InvalidInput(f"{INDEX} names {name!r}, not an archive of this folder")
        if not (src / name).is_file():
            raise InvalidInput(f"{INDEX} names {name}, which is not in {src}")
        found.append(src / name)
    return found


def publish(
    src: Path, dest: str, client: Any = None, progress: Callable[[str], None] | None = None
) -> Published:
    """Upload the archives `src/index.json` names (those not there yet), then the index."""
    archives = archives_of(src)
    target = target_for(dest, client)
    done = Published(dest)
    try:
        for path in archives:
            if progress:
                progress(path.name)
            if target.has(path.name):
                done.skipped.append(path.name)
                continue
            target.put(path.name, path, ARCHIVE_TYPE, ARCHIVE_CACHE)
            done.uploaded.append(path.name)
        target.put(INDEX, src / INDEX, INDEX_TYPE, INDEX_CACHE)
    except DjmapError:
        raise
    except Exception as exc:
        raise _as_error(exc, dest) from exc
    done.uploaded.append(INDEX)
    if isinstance(target, DirTarget):
        target.write_headers()
    return done


def _as_error(exc: Exception, dest: str) -> DjmapError:
    """A failed upload as the core's error: what went wrong, said plainly."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    if isinstance(exc, NoCredentialsError):
        return InvalidInput("no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        return InvalidInput(f"{dest}: the store refused the upload ({code}: {exc})")
    if isinstance(exc, (BotoCoreError, OSError)):
        return Unavailable(f"{dest}: {exc}")
    raise exc
