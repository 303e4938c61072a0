"""(b) The self-manage-MFA policy with AmazonS3ReadOnlyAccess + IAMUserChangePassword, and its lock-out.

AWS's published "IAM: Allows IAM users to self-manage an MFA device" policy denies everything but
MFA enrollment until the user signs in with MFA — including iam:ChangePassword.  A new user whose
password must be reset signs in to the console (no MFA device yet), may do nothing but change the
password, and is denied that: locked out.  Version v2 of the policy adds iam:ChangePassword (and
GetAccountPasswordPolicy) to NotAction; the same user then changes the password, enrolls MFA and
reads S3 with an MFA session, while S3 writes stay denied.
"""

from __future__ import annotations

from _common import check, client, denied, enroll, new_user, now, policy, signin, totp

iam = client("iam")
iam.update_account_password_policy(MinimumPasswordLength=12, AllowUsersToChangePassword=True)
arn = iam.create_policy(PolicyName="SelfManageMFA", PolicyDocument=policy("self-manage-mfa.json"))["Policy"][
    "Arn"
]
keys = new_user("bob")
assert keys is not None
for p in (
    arn,
    "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
    "arn:aws:iam::aws:policy/IAMUserChangePassword",
):
    iam.attach_user_policy(UserName="bob", PolicyArn=p)
iam.create_login_profile(UserName="bob", Password="first-Password-1", PasswordResetRequired=True)
client("s3").create_bucket(Bucket="reports")
client("s3").put_object(Bucket="reports", Key="q1.csv", Body=b"1,2,3\n")

# -- the lock-out: the published policy blocks ChangePassword without MFA
console = signin("bob", "first-Password-1")
check(console["PasswordResetRequired"] is True, "bob signs in to the console and must reset the password")
bob_console = client("iam", console)
check(
    denied(bob_console.change_password, OldPassword="first-Password-1", NewPassword="second-Password-2")
    == "AccessDenied",
    "ChangePassword is denied (explicit deny: no MFA)",
)
check(
    denied(bob_console.create_virtual_mfa_device, VirtualMFADeviceName="bob") == "AccessDenied",
    "and nothing else is possible before the reset: bob is locked out",
)
check(denied(client("s3", console).list_buckets) == "AccessDenied", "S3 too")

# -- the fix: v2 of the policy lets ChangePassword (and the password policy read) through
iam.create_policy_version(
    PolicyArn=arn, PolicyDocument=policy("self-manage-mfa-fixed.json"), SetAsDefault=True
)
bob_console.change_password(OldPassword="first-Password-1", NewPassword="second-Password-2")
check(
    iam.get_login_profile(UserName="bob")["LoginProfile"]["PasswordResetRequired"] is False,
    "with v2 bob changes the password and the reset requirement is cleared",
)
check(
    denied(client("iam", keys).change_password, OldPassword="second-Password-2", NewPassword="short")
    == "PasswordPolicyViolation",
    "a new password must meet the password policy",
)

# -- enrollment, then S3 read-only with MFA
check(denied(client("s3", keys).list_buckets) == "AccessDenied", "S3 is denied to long-term keys without MFA")
serial, seed = enroll(keys, "bob")
session = client("sts", keys).get_session_token(SerialNumber=serial, TokenCode=totp(seed, now()))[
    "Credentials"
]
s3 = client("s3", session)
check([b["Name"] for b in s3.list_buckets()["Buckets"]] == ["reports"], "S3 reads are allowed with MFA")
check(s3.get_object(Bucket="reports", Key="q1.csv")["Body"].read() == b"1,2,3\n", "GetObject too")
check(
    denied(s3.put_object, Bucket="reports", Key="x", Body=b"") == "AccessDenied",
    "S3 writes are denied (AmazonS3ReadOnlyAccess)",
)
print("self-manage MFA: PASS")
