"""IAM entities through real boto3: groups, roles, managed (customer + AWS) and inline policies,
versions, access-key quota, login profiles and the password policy, the policy simulator."""

from __future__ import annotations

import json

from .conftest import GET_OWN_USER, Aws, error_of

ALLOW_S3 = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]})
ALLOW_EC2 = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]})


def test_groups_and_membership_carry_policies(aws: Aws) -> None:
    key, secret = aws.user("alice")
    s3 = aws.client("s3", key, secret)
    assert error_of(s3.list_buckets)[0] == "AccessDenied"  # no policy at all: implicit deny
    g = aws.iam.create_group(GroupName="readers", Path="/team/")["Group"]
    assert g["Arn"] == "arn:aws:iam::123456789012:group/team/readers" and g["GroupId"].startswith("AGPA")
    assert error_of(lambda: aws.iam.create_group(GroupName="readers"))[0] == "EntityAlreadyExists"
    aws.iam.put_group_policy(GroupName="readers", PolicyName="s3", PolicyDocument=ALLOW_S3)
    aws.iam.add_user_to_group(GroupName="readers", UserName="alice")
    assert s3.list_buckets()["Buckets"] == []
    assert [x["GroupName"] for x in aws.iam.list_groups_for_user(UserName="alice")["Groups"]] == ["readers"]
    assert [u["UserName"] for u in aws.iam.get_group(GroupName="readers")["Users"]] == ["alice"]
    assert error_of(lambda: aws.iam.delete_group(GroupName="readers"))[0] == "DeleteConflict"
    aws.iam.remove_user_from_group(GroupName="readers", UserName="alice")
    assert error_of(s3.list_buckets)[0] == "AccessDenied"
    aws.iam.delete_group_policy(GroupName="readers", PolicyName="s3")
    aws.iam.delete_group(GroupName="readers")
    assert error_of(lambda: aws.iam.get_group(GroupName="readers"))[0] == "NoSuchEntity"


def test_customer_managed_policy_versions(aws: Aws) -> None:
    key, secret = aws.user("alice")
    ec2 = aws.client("ec2", key, secret)
    p = aws.iam.create_policy(PolicyName="p", PolicyDocument=ALLOW_S3, Description="d")["Policy"]
    arn = p["Arn"]
    assert arn == "arn:aws:iam::123456789012:policy/p" and p["DefaultVersionId"] == "v1"
    aws.iam.attach_user_policy(UserName="alice", PolicyArn=arn)
    assert error_of(ec2.describe_instances)[0] == "UnauthorizedOperation"
    v2 = aws.iam.create_policy_version(PolicyArn=arn, PolicyDocument=ALLOW_EC2, SetAsDefault=True)[
        "PolicyVersion"
    ]
    assert v2["VersionId"] == "v2" and v2["IsDefaultVersion"]
    assert ec2.describe_instances()["Reservations"] == []  # the default version is what applies
    doc = aws.iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]["Document"]
    assert doc["Statement"][0]["Action"] == "s3:ListAllMyBuckets"  # boto3 decodes the URL-encoded JSON
    for _ in range(3):
        aws.iam.create_policy_version(PolicyArn=arn, PolicyDocument=ALLOW_S3)
    assert (
        error_of(lambda: aws.iam.create_policy_version(PolicyArn=arn, PolicyDocument=ALLOW_S3))[0]
        == "LimitExceeded"
    )  # five versions at most
    assert (
        error_of(lambda: aws.iam.delete_policy_version(PolicyArn=arn, VersionId="v2"))[0] == "DeleteConflict"
    )
    aws.iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    assert error_of(ec2.describe_instances)[0] == "UnauthorizedOperation"
    assert [v["VersionId"] for v in aws.iam.list_policy_versions(PolicyArn=arn)["Versions"]] == [
        "v5",
        "v4",
        "v3",
        "v2",
        "v1",
    ]
    assert error_of(lambda: aws.iam.delete_policy(PolicyArn=arn))[0] == "DeleteConflict"  # attached
    attached = aws.iam.list_attached_user_policies(UserName="alice")["AttachedPolicies"]
    assert attached == [{"PolicyName": "p", "PolicyArn": arn}]


def test_malformed_policies_are_refused(aws: Aws) -> None:
    for doc in (
        "{not json",
        json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}
        ),
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}],
            }
        ),
    ):
        code, _, status = error_of(lambda d=doc: aws.iam.create_policy(PolicyName="bad", PolicyDocument=d))
        assert (code, status) == ("MalformedPolicyDocument", 400)
    assert aws.iam.list_policies(Scope="Local")["Policies"] == []


def test_aws_managed_policies_by_arn(aws: Aws) -> None:
    key, secret = aws.user("alice")
    arn = "arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess"
    p = aws.iam.get_policy(PolicyArn=arn)["Policy"]
    assert p["PolicyName"] == "AmazonEC2ReadOnlyAccess"
    doc = aws.iam.get_policy_version(PolicyArn=arn, VersionId=p["DefaultVersionId"])["PolicyVersion"][
        "Document"
    ]
    assert any("ec2:Describe*" in json.dumps(s) for s in doc["Statement"])
    aws.iam.attach_user_policy(UserName="alice", PolicyArn=arn)
    assert aws.client("ec2", key, secret).describe_instances()["Reservations"] == []
    assert (
        error_of(
            lambda: aws.iam.attach_user_policy(
                UserName="alice", PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicyAnywhere"
            )
        )[0]
        == "NoSuchEntity"
    )
    aws.iam.detach_user_policy(UserName="alice", PolicyArn=arn)
    assert error_of(aws.client("ec2", key, secret).describe_instances)[0] == "UnauthorizedOperation"


def test_access_key_quota_and_inactive_keys(aws: Aws) -> None:
    key, secret = aws.user("alice")
    second = aws.iam.create_access_key(UserName="alice")["AccessKey"]
    code, msg, status = error_of(lambda: aws.iam.create_access_key(UserName="alice"))
    assert (code, status) == ("LimitExceeded", 409) and "AccessKeysPerUser: 2" in msg
    assert len(aws.iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]) == 2
    aws.iam.update_access_key(UserName="alice", AccessKeyId=key, Status="Inactive")
    assert error_of(aws.client("sts", key, secret).get_caller_identity)[0] == "InvalidClientTokenId"
    aws.iam.delete_access_key(UserName="alice", AccessKeyId=second["AccessKeyId"])
    assert (
        error_of(aws.client("sts", second["AccessKeyId"], second["SecretAccessKey"]).get_caller_identity)[0]
        == "InvalidClientTokenId"
    )
    assert error_of(lambda: aws.iam.delete_user(UserName="alice"))[0] == "DeleteConflict"


def test_login_profile_password_policy_and_change_password(aws: Aws) -> None:
    import httpx

    aws.user("alice")
    aws.iam.update_account_password_policy(
        MinimumPasswordLength=10, RequireNumbers=True, AllowUsersToChangePassword=True
    )
    pol = aws.iam.get_account_password_policy()["PasswordPolicy"]
    assert pol["MinimumPasswordLength"] == 10 and pol["RequireNumbers"] is True
    assert (
        error_of(lambda: aws.iam.create_login_profile(UserName="alice", Password="short1"))[0]
        == "PasswordPolicyViolation"
    )
    assert (
        error_of(lambda: aws.iam.create_login_profile(UserName="alice", Password="longbutnodigits"))[0]
        == "PasswordPolicyViolation"
    )
    aws.iam.create_login_profile(UserName="alice", Password="first-pass-1", PasswordResetRequired=True)
    assert aws.iam.get_login_profile(UserName="alice")["LoginProfile"]["PasswordResetRequired"] is True
    bad = httpx.post(
        aws.server.url + "/_tokensim/signin", json={"user": "alice", "password": "nope"}, timeout=5
    )
    assert bad.status_code == 401
    console = httpx.post(
        aws.server.url + "/_tokensim/signin", json={"user": "alice", "password": "first-pass-1"}, timeout=5
    ).json()
    iam = aws.client("iam", console["AccessKeyId"], console["SecretAccessKey"], console["SessionToken"])
    # AllowUsersToChangePassword: no identity policy needed to change one's own password
    assert (
        error_of(lambda: iam.change_password(OldPassword="wrong-pass-1", NewPassword="second-pass-2"))[0]
        == "AccessDenied"
    )
    iam.change_password(OldPassword="first-pass-1", NewPassword="second-pass-2")
    assert aws.iam.get_login_profile(UserName="alice")["LoginProfile"]["PasswordResetRequired"] is False
    aws.iam.delete_account_password_policy()
    assert error_of(aws.iam.get_account_password_policy)[0] == "NoSuchEntity"


def test_simulate_custom_and_principal_policy(aws: Aws) -> None:
    doc = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "ec2:StopInstances",
                    "Resource": "*",
                    "Condition": {
                        "Bool": {"aws:MultiFactorAuthPresent": "true"},
                        "NumericLessThan": {"aws:MultiFactorAuthAge": "3600"},
                    },
                }
            ],
        }
    )

    def decide(*entries: tuple[str, str, str]) -> str:
        r = aws.iam.simulate_custom_policy(
            PolicyInputList=[doc],
            ActionNames=["ec2:StopInstances"],
            ContextEntries=[
                {"ContextKeyName": k, "ContextKeyValues": [v], "ContextKeyType": t} for k, t, v in entries
            ],
        )
        return str(r["EvaluationResults"][0]["EvalDecision"])

    assert decide() == "implicitDeny"
    assert (
        decide(("aws:MultiFactorAuthPresent", "boolean", "true"), ("aws:MultiFactorAuthAge", "numeric", "60"))
        == "allowed"
    )
    assert (
        decide(
            ("aws:MultiFactorAuthPresent", "boolean", "true"), ("aws:MultiFactorAuthAge", "numeric", "7200")
        )
        == "implicitDeny"
    )
    aws.user("bob")
    aws.put_policy("bob", "own", GET_OWN_USER)
    r = aws.iam.simulate_principal_policy(
        PolicySourceArn="arn:aws:iam::123456789012:user/bob",
        ActionNames=["iam:GetUser"],
        ResourceArns=["arn:aws:iam::123456789012:user/bob", "arn:aws:iam::123456789012:user/alice"],
    )["EvaluationResults"]
    assert [x["EvalDecision"] for x in r] == ["allowed", "implicitDeny"]  # ${aws:username} substituted


def test_roles_and_assume_role_trust(aws: Aws) -> None:
    key, secret = aws.user("alice")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"AWS": "arn:aws:iam::123456789012:user/alice"},
            }
        ],
    }
    role = aws.iam.create_role(
        RoleName="viewer", Path="/app/", AssumeRolePolicyDocument=json.dumps(trust), MaxSessionDuration=7200
    )["Role"]
    assert role["Arn"] == "arn:aws:iam::123456789012:role/app/viewer" and role["RoleId"].startswith("AROA")
    got = aws.iam.get_role(RoleName="viewer")["Role"]
    assert got["AssumeRolePolicyDocument"] == trust  # boto3 decodes IAM's URL-encoded JSON
    aws.iam.put_role_policy(RoleName="viewer", PolicyName="s3", PolicyDocument=ALLOW_S3)
    sts = aws.client("sts", key, secret)
    # the trust policy names alice herself: no identity policy is needed
    creds = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s1", DurationSeconds=7200)["Credentials"]
    who = aws.client("sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    ident = who.get_caller_identity()
    assert ident["Arn"] == "arn:aws:sts::123456789012:assumed-role/viewer/s1"
    assert ident["UserId"] == f"{role['RoleId']}:s1"
    s3 = aws.client("s3", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    assert s3.list_buckets()["Buckets"] == []
    assert (
        error_of(lambda: sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s2", DurationSeconds=7201))[0]
        == "ValidationError"
    )
    # someone the trust policy does not name
    bk, bs = aws.user("bob", allow_all=True)
    code, msg, _ = error_of(
        lambda: aws.client("sts", bk, bs).assume_role(RoleArn=role["Arn"], RoleSessionName="xy")
    )
    assert code == "AccessDenied" and "sts:AssumeRole" in msg
    # the session ends with the role
    aws.iam.delete_role_policy(RoleName="viewer", PolicyName="s3")
    aws.iam.delete_role(RoleName="viewer")
    assert error_of(who.get_caller_identity)[0] == "InvalidClientTokenId"


def test_paging_of_lists(aws: Aws) -> None:
    for i in range(5):
        aws.iam.create_user(UserName=f"u{i}")
    first = aws.iam.list_users(MaxItems=2)
    assert first["IsTruncated"] and len(first["Users"]) == 2
    names = [u["UserName"] for u in first["Users"]]
    marker = first["Marker"]
    while marker:
        page = aws.iam.list_users(MaxItems=2, Marker=marker)
        names += [u["UserName"] for u in page["Users"]]
        marker = page.get("Marker")
    assert sorted(names) == ["admin", "u0", "u1", "u2", "u3", "u4"]
