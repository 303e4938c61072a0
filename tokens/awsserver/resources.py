"""The IAM action and resource ARNs of one operation, and the service-specific condition keys.

The action is ``<prefix>:<Operation>`` for IAM, STS, EC2 and every query/JSON service; S3 names a
few permissions differently from its operations (the table below, from the S3 documentation's
"Actions, resources and condition keys" page).  Resources are derived for IAM, STS, S3 and EC2;
every other service is authorised against ``*``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .backend import Backend
from .operations import Operation
from .principal import Principal

# S3 operations whose permission is another action (the others are s3:<Operation>)
S3_PERMISSION = {
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "HeadBucket": "ListBucket",
    "ListBuckets": "ListAllMyBuckets",
    "HeadObject": "GetObject",
    "DeleteObjects": "DeleteObject",
    "CopyObject": "PutObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "UploadPartCopy": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "AbortMultipartUpload": "AbortMultipartUpload",
    "ListParts": "ListMultipartUploadParts",
    "ListObjectVersions": "ListBucketVersions",
    "ListMultipartUploads": "ListBucketMultipartUploads",
    "GetObjectAttributes": "GetObject",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "PutLifecycleConfiguration",
    "GetBucketNotificationConfiguration": "GetBucketNotification",
    "PutBucketNotificationConfiguration": "PutBucketNotification",
    "GetBucketEncryption": "GetEncryptionConfiguration",
    "PutBucketEncryption": "PutEncryptionConfiguration",
    "DeleteBucketEncryption": "PutEncryptionConfiguration",
    "DeleteBucketCors": "PutBucketCORS",
    "GetBucketCors": "GetBucketCORS",
    "PutBucketCors": "PutBucketCORS",
    "DeleteBucketTagging": "PutBucketTagging",
    "DeleteBucketWebsite": "DeleteBucketWebsite",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "PutBucketPublicAccessBlock",
}


# IAM actions that act on the caller's own user when UserName is left out
SELF_SERVICE = frozenset({
    "ChangePassword", "GetUser", "CreateAccessKey", "ListAccessKeys", "DeleteAccessKey", "UpdateAccessKey",
    "ListMFADevices", "EnableMFADevice", "ResyncMFADevice", "DeactivateMFADevice", "GetLoginProfile",
    "ListGroupsForUser", "ListUserPolicies", "ListAttachedUserPolicies", "ListSigningCertificates",
    "ListSSHPublicKeys", "ListServiceSpecificCredentials", "GetAccessKeyLastUsed"})


@dataclass(frozen=True)
class Target:
    """What a request asks permission for."""

    action: str
    resources: tuple[str, ...]
    context: Mapping[str, str] = field(default_factory=dict)  # service-specific keys
    bucket: str | None = None  # S3: whose bucket policy applies


def _iam_resource(b: Backend, op: Operation, params: Mapping[str, str], caller: Principal) -> str:
    if "UserName" in params and op.name not in ("CreateVirtualMFADevice",):
        return b.user_arn_by_name(params["UserName"])
    if "GroupName" in params:
        g = b.state.groups.get(name=params["GroupName"])
        return b.arn("group", g.path if g else params.get("Path", "/") or "/", params["GroupName"])
    if "RoleName" in params:
        r = b.state.roles.get(name=params["RoleName"])
        return b.arn("role", r.path if r else params.get("Path", "/") or "/", params["RoleName"])
    if op.name == "CreateVirtualMFADevice":
        return b.mfa_arn(params.get("Path", "/") or "/", params.get("VirtualMFADeviceName", ""))
    if "SerialNumber" in params and op.name == "DeleteVirtualMFADevice":
        return params["SerialNumber"]
    if "PolicyArn" in params:
        return params["PolicyArn"]
    if op.name == "CreatePolicy":
        return b.arn("policy", params.get("Path", "/") or "/", params.get("PolicyName", ""))
    if "PolicySourceArn" in params:
        return params["PolicySourceArn"]
    if op.name in SELF_SERVICE and caller.user is not None:
        return b.user_arn(caller.user)
    return "*"


def _sts_resource(b: Backend, op: Operation, params: Mapping[str, str]) -> str:
    if op.name.startswith("AssumeRole"):
        return params.get("RoleArn", "*")
    if op.name == "GetFederationToken":
        return f"arn:aws:sts::{b.account_id}:federated-user/{params.get('Name', '')}"
    return "*"


def _ec2_resources(b: Backend, op: Operation, params: Mapping[str, str], region: str) -> tuple[str, ...]:
    base = f"arn:aws:ec2:{region}:{b.account_id}"
    ids = [v for k, v in params.items() if k.startswith("InstanceId.")]
    if ids:
        return tuple(f"{base}:instance/{i}" for i in ids)
    if op.name == "RunInstances":
        return (f"{base}:instance/*",)
    for member, kind in (
        ("VolumeId", "volume"),
        ("SecurityGroupId", "security-group"),
        ("GroupId", "security-group"),
        ("VpcId", "vpc"),
        ("SubnetId", "subnet"),
        ("ImageId", "image"),
        ("KeyName", "key-pair"),
    ):
        if member in params and not op.name.startswith("Describe"):
            if kind == "image":
                return (f"arn:aws:ec2:{region}::image/{params[member]}",)
            return (f"{base}:{kind}/{params[member]}",)
    return ("*",)


def target(b: Backend, op: Operation, params: Mapping[str, str], caller: Principal, region: str) -> Target:
    """The action, resources and service-specific context keys of ``op``."""
    if op.prefix == "s3":
        action = f"s3:{S3_PERMISSION.get(op.name, op.name)}"
        bucket, key = op.label("Bucket"), op.label("Key")
        ctx: dict[str, str] = {}
        if action == "s3:ListBucket":
            for q in ("prefix", "delimiter", "max-keys"):
                if q in params:
                    ctx[f"s3:{q}"] = params[q]
        if bucket is None:
            return Target(action, ("*",), ctx)
        res = f"arn:aws:s3:::{bucket}/{key}" if key is not None else f"arn:aws:s3:::{bucket}"
        return Target(action, (res,), ctx, bucket=bucket)
    if op.prefix == "iam":
        return Target(op.action, (_iam_resource(b, op, params, caller),))
    if op.prefix == "sts":
        return Target(op.action, (_sts_resource(b, op, params),))
    if op.prefix == "ec2":
        return Target(op.action, _ec2_resources(b, op, params, region))
    return Target(op.action, ("*",))
