"""(d) The widely copied force-MFA policy with ``aws:ViaAWSService``.

Its deny reads ``BoolIfExists: {aws:MultiFactorAuthPresent: false, aws:ViaAWSService: false}``: it
bites calls made directly by the user without MFA, and spares calls an AWS service makes on the
user's behalf.  Every call here is direct (aws:ViaAWSService = false), so EC2 is denied until MFA;
the policy simulator shows the service-made case with a context entry.
"""

from __future__ import annotations

from _common import check, client, denied, enroll, new_user, now, policy, totp

iam = client("iam")
arn = iam.create_policy(PolicyName="ForceMFAViaService",
                        PolicyDocument=policy("force-mfa-via-aws-service.json"))["Policy"]["Arn"]
keys = new_user("dave")
assert keys is not None
iam.attach_user_policy(UserName="dave", PolicyArn=arn)
iam.attach_user_policy(UserName="dave", PolicyArn="arn:aws:iam::aws:policy/AmazonEC2FullAccess")

check(denied(client("ec2", keys).describe_instances) == "UnauthorizedOperation",
      "a direct EC2 call without MFA is denied (aws:ViaAWSService is false)")
user_arn = iam.get_user(UserName="dave")["User"]["Arn"]


def simulate(**context: tuple[str, str]) -> str:
    entries = [{"ContextKeyName": k.replace("_", ":", 1), "ContextKeyValues": [v], "ContextKeyType": t}
               for k, (t, v) in context.items()]
    r = iam.simulate_principal_policy(PolicySourceArn=user_arn, ActionNames=["ec2:DescribeInstances"],
                                      ContextEntries=entries)
    decision: str = r["EvaluationResults"][0]["EvalDecision"]
    return decision


check(simulate(aws_MultiFactorAuthPresent=("boolean", "false"), aws_ViaAWSService=("boolean", "false"))
      == "explicitDeny", "simulator: direct call without MFA → explicitDeny")
check(simulate(aws_MultiFactorAuthPresent=("boolean", "false"), aws_ViaAWSService=("boolean", "true"))
      == "allowed", "simulator: the same call made by an AWS service on dave's behalf → allowed")
serial, seed = enroll(keys, "dave")
session = client("sts", keys).get_session_token(SerialNumber=serial, TokenCode=totp(seed, now()))[
    "Credentials"
]
check(
    isinstance(client("ec2", session).describe_instances()["Reservations"], list),
    "with an MFA session the direct call is allowed",
)
print("aws:ViaAWSService force-MFA: PASS")
