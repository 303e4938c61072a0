"""(a) The AWS IAM tutorial: Force_MFA + AmazonEC2FullAccess on the group EC2MFA.

EC2 is denied to a new user until it enrolls a virtual MFA device (two consecutive codes) and
calls with an MFA session from GetSessionToken; S3 stays denied (no policy allows it).
Run: ``python tutorial_force_mfa_ec2.py`` with AWS_ENDPOINT_URL/AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
set to a ``tokensim aws serve --clock manual`` endpoint and its administrator's keys.
"""

from __future__ import annotations

from _common import check, client, denied, enroll, new_user, now, policy, totp

iam = client("iam")
arn = iam.create_policy(PolicyName="Force_MFA", PolicyDocument=policy("force-mfa.json"))["Policy"]["Arn"]
iam.create_group(GroupName="EC2MFA")
iam.attach_group_policy(GroupName="EC2MFA", PolicyArn="arn:aws:iam::aws:policy/AmazonEC2FullAccess")
iam.attach_group_policy(GroupName="EC2MFA", PolicyArn=arn)
keys = new_user("mfa-user", group="EC2MFA")
assert keys is not None

check(denied(client("ec2", keys).describe_instances) == "UnauthorizedOperation",
      "EC2 is denied with long-term keys (no MFA)")
plain = client("sts", keys).get_session_token()["Credentials"]  # no policy can refuse GetSessionToken
check(denied(client("ec2", plain).describe_instances) == "UnauthorizedOperation",
      "EC2 is denied with a session obtained without MFA (MultiFactorAuthPresent=false)")
serial, seed = enroll(keys, "mfa-user")
check(client("iam", keys).list_mfa_devices()["MFADevices"][0]["SerialNumber"] == serial,
      "the user enrolled its own virtual MFA device with two consecutive codes")
session = client("sts", keys).get_session_token(SerialNumber=serial, TokenCode=totp(seed, now()),
                                                DurationSeconds=3600)["Credentials"]
ec2 = client("ec2", session)
check(isinstance(ec2.describe_instances()["Reservations"], list), "EC2 is allowed with the MFA session")
check(
    denied(client("s3", session).list_buckets) == "AccessDenied", "S3 is still denied (no policy allows it)"
)
print("tutorial: PASS")
