"""(c) MFA-protected API access, four ways.

1. AssumeRole on a role whose trust policy requires MFA: refused without SerialNumber/TokenCode,
   granted with them; the role session carries the MFA context.
2. StopInstances / TerminateInstances only with MFA (EC2 DryRun answers DryRunOperation when allowed).
3. A bucket policy that admits only MFA sessions (explicit deny in a resource-based policy otherwise).
4. aws:MultiFactorAuthAge < 3600: allowed right after MFA, denied an hour later (the manual clock).
"""

from __future__ import annotations

from _common import advance, check, client, denied, document, enroll, new_user, now, totp

ACCOUNT = client("sts").get_caller_identity()["Account"]
iam = client("iam")
keys = new_user("carol")
assert keys is not None
iam.put_user_policy(
    UserName="carol",
    PolicyName="self-mfa",
    PolicyDocument=document(
        {
            "Effect": "Allow",
            "Action": ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice"],
            "Resource": [
                f"arn:aws:iam::{ACCOUNT}:mfa/${{aws:username}}",
                f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}",
            ],
        },
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": f"arn:aws:iam::{ACCOUNT}:role/ops",
        },
        {"Effect": "Allow", "Action": ["ec2:*", "s3:*"], "Resource": "*"},
        {
            "Sid": "StopTerminateOnlyWithMFA",
            "Effect": "Deny",
            "Action": ["ec2:StopInstances", "ec2:TerminateInstances"],
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        },
    ),
)
serial, seed = enroll(keys, "carol")


def mfa_session(seconds: int = 3600) -> dict[str, str]:
    creds: dict[str, str] = client("sts", keys).get_session_token(
        SerialNumber=serial, TokenCode=totp(seed, now()), DurationSeconds=seconds
    )["Credentials"]
    advance(30)  # the code is spent; the next call needs the next one
    return creds


# 1. a role whose trust policy requires MFA
iam.create_role(
    RoleName="ops",
    AssumeRolePolicyDocument=document(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        }
    ),
)
iam.attach_role_policy(RoleName="ops", PolicyArn="arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess")
sts = client("sts", keys)
check(
    denied(sts.assume_role, RoleArn=f"arn:aws:iam::{ACCOUNT}:role/ops", RoleSessionName="no-mfa")
    == "AccessDenied",
    "AssumeRole without MFA is refused by the trust policy",
)
role = sts.assume_role(
    RoleArn=f"arn:aws:iam::{ACCOUNT}:role/ops",
    RoleSessionName="with-mfa",
    SerialNumber=serial,
    TokenCode=totp(seed, now()),
)
advance(30)
who = client("sts", role["Credentials"]).get_caller_identity()
check(
    who["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/ops/with-mfa", "AssumeRole with MFA: a role session"
)
check(
    isinstance(client("ec2", role["Credentials"]).describe_instances()["Reservations"], list),
    "the role session may describe instances (AmazonEC2ReadOnlyAccess)",
)

# 2. Stop/Terminate only with MFA
ec2_keys = client("ec2", keys)
image = ec2_keys.describe_images()["Images"][0]["ImageId"]
instance = ec2_keys.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
check(
    denied(ec2_keys.stop_instances, InstanceIds=[instance]) == "UnauthorizedOperation",
    "StopInstances without MFA: UnauthorizedOperation",
)
ec2_mfa = client("ec2", mfa_session())
check(
    denied(ec2_mfa.stop_instances, InstanceIds=[instance], DryRun=True) == "DryRunOperation",
    "with MFA a DryRun answers DryRunOperation (it would succeed)",
)
state = ec2_mfa.stop_instances(InstanceIds=[instance])["StoppingInstances"][0]["CurrentState"]["Name"]
check(state in ("stopping", "stopped"), "StopInstances with MFA is allowed")

# 3. a bucket policy admitting only MFA sessions
s3 = client("s3", keys)
s3.create_bucket(Bucket="mfa-only")
s3.put_bucket_policy(
    Bucket="mfa-only",
    Policy=document(
        {
            "Sid": "DenyWithoutMFA",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::mfa-only", "arn:aws:s3:::mfa-only/*"],
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        }
    ),
)
check(
    denied(s3.put_object, Bucket="mfa-only", Key="k", Body=b"v") == "AccessDenied",
    "the bucket policy refuses long-term keys (explicit deny in a resource-based policy)",
)
s3_mfa = client("s3", mfa_session())
s3_mfa.put_object(Bucket="mfa-only", Key="k", Body=b"v")
check(s3_mfa.get_object(Bucket="mfa-only", Key="k")["Body"].read() == b"v", "and admits the MFA session")

# 4. MultiFactorAuthAge: terminate only within an hour of the MFA sign-in
iam.put_user_policy(
    UserName="carol",
    PolicyName="recent-mfa",
    PolicyDocument=document(
        {
            "Sid": "TerminateOnlyWithRecentMFA",
            "Effect": "Deny",
            "Action": "ec2:TerminateInstances",
            "Resource": "*",
            "Condition": {"NumericGreaterThanIfExists": {"aws:MultiFactorAuthAge": "3600"}},
        }
    ),
)
recent = client("ec2", mfa_session(seconds=7200))
check(
    denied(recent.terminate_instances, InstanceIds=[instance], DryRun=True) == "DryRunOperation",
    "TerminateInstances right after MFA: allowed (DryRun)",
)
advance(3601)
check(
    denied(recent.terminate_instances, InstanceIds=[instance]) == "UnauthorizedOperation",
    "an hour later the same session is refused (MultiFactorAuthAge > 3600)",
)
print("MFA-protected API access: PASS")
