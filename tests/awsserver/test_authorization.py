"""Authentication and authorization of every request, as AWS does them: sessions and their MFA
context, expiry on the account's clock, entry rules of session kinds, each service's error shape."""

from __future__ import annotations

import json

import httpx

from tokens.awsserver import AwsServer
from tokens.clock import ManualClock

from .conftest import T0, Aws, error_of

DENY_EC2_WITHOUT_MFA = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["ec2:*", "s3:*", "iam:*"], "Resource": "*"},
    {"Sid": "NoMFANoEC2", "Effect": "Deny", "Action": "ec2:*", "Resource": "*",
     "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]})


def session(
    aws: Aws, serial: str | None = None, code: str | None = None, seconds: int = 3600
) -> dict[str, str]:
    kw = {"SerialNumber": serial, "TokenCode": code} if serial else {}
    creds: dict[str, str] = aws.sts.get_session_token(DurationSeconds=seconds, **kw)["Credentials"]
    return creds


def as_session(aws: Aws, service: str, creds: dict[str, str]) -> object:
    return aws.client(service, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


def test_explicit_deny_message_names_action_resource_and_kind(aws: Aws) -> None:
    serial, token = aws.enrolled()
    aws.iam.put_user_policy(UserName="alice", PolicyName="p", PolicyDocument=DENY_EC2_WITHOUT_MFA)
    code, msg, status = error_of(aws.as_user("ec2").describe_instances)
    assert (code, status) == ("UnauthorizedOperation", 403)
    assert (
        "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: ec2:DescribeInstances on "
        "resource: * with an explicit deny in an identity-based policy" in msg
    )
    ec2 = as_session(aws, "ec2", session(aws, serial, token.code()))
    assert ec2.describe_instances()["Reservations"] == []  # type: ignore[attr-defined]


def test_ec2_dry_run_and_per_instance_resources(aws: Aws) -> None:
    key, secret = aws.user("alice")
    aws.put_policy("alice", "p", {"Effect": "Allow", "Action": ["ec2:RunInstances", "ec2:Describe*"],
                                  "Resource": "*"})
    ec2 = aws.client("ec2", key, secret)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    assert (
        error_of(lambda: ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, DryRun=True))[0]
        == "DryRunOperation"
    )
    inst = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    code, msg, _ = error_of(lambda: ec2.stop_instances(InstanceIds=[inst], DryRun=True))
    assert code == "UnauthorizedOperation"  # a DryRun that would be denied is denied
    assert f"arn:aws:ec2:us-east-1:123456789012:instance/{inst}" in msg


def test_s3_denials_are_s3_shaped_xml(aws: Aws) -> None:
    key, secret = aws.user("alice")
    aws.client("s3").create_bucket(Bucket="data-bucket")
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = f"{aws.server.url}/data-bucket/k.txt"
    req = AWSRequest(method="GET", url=url)
    S3SigV4Auth(Credentials(key, secret), "s3", "us-east-1").add_auth(req)
    r = httpx.get(url, headers=dict(req.headers.items()), timeout=5)
    assert r.status_code == 403 and r.content.count(b"<Error>") == 1
    assert b"<Code>AccessDenied</Code>" in r.content
    assert b"s3:GetObject on resource: arn:aws:s3:::data-bucket/k.txt" in r.content


def test_s3_prefix_condition_key(aws: Aws) -> None:
    key, secret = aws.user("alice")
    s3a = aws.client("s3")
    s3a.create_bucket(Bucket="shared-bucket")
    aws.put_policy("alice", "home", {
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": "arn:aws:s3:::shared-bucket",
        "Condition": {"StringLike": {"s3:prefix": "home/${aws:username}/*"}},
    })
    s3 = aws.client("s3", key, secret)
    assert s3.list_objects_v2(Bucket="shared-bucket", Prefix="home/alice/")["KeyCount"] == 0
    assert (
        error_of(lambda: s3.list_objects_v2(Bucket="shared-bucket", Prefix="home/bob/"))[0] == "AccessDenied"
    )
    assert error_of(lambda: s3.list_objects_v2(Bucket="shared-bucket"))[0] == "AccessDenied"


def test_session_kinds_entry_rules(aws: Aws) -> None:
    serial, token = aws.enrolled()
    aws.iam.attach_user_policy(UserName="alice", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    plain = session(aws)
    code, msg, _ = error_of(as_session(aws, "iam", plain).list_users)  # type: ignore[attr-defined]
    assert code == "AccessDenied" and "unless MFA authentication information is included" in msg
    assert as_session(aws, "s3", plain).list_buckets()["Buckets"] == []  # type: ignore[attr-defined]
    mfa = session(aws, serial, token.code())
    assert len(as_session(aws, "iam", mfa).list_users()["Users"]) == 2  # type: ignore[attr-defined]
    assert error_of(as_session(aws, "sts", mfa).get_session_token)[0] == "AccessDenied"  # type: ignore[attr-defined]


def test_nobody_else_receives_a_users_mfa_session(aws: Aws) -> None:
    serial, token = aws.enrolled("alice")
    code = token.code()
    for sts in (aws.client("sts"), aws.client("sts", *aws.user("bob", allow_all=True))):
        assert (
            error_of(lambda s=sts: s.get_session_token(SerialNumber=serial, TokenCode=code))[0]
            == "AccessDenied"
        )
    creds = aws.as_user("sts", "alice").get_session_token(SerialNumber=serial, TokenCode=code)["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")  # the code was not spent by the refused attempts


def test_session_expiry_on_the_account_clock(aws: Aws) -> None:
    aws.user("alice", allow_all=True)
    creds = session(aws, seconds=900)
    sts = as_session(aws, "sts", creds)
    assert sts.get_caller_identity()["Arn"].endswith("user/alice")  # type: ignore[attr-defined]
    aws.clock.advance(899)
    assert sts.get_caller_identity()["Account"] == "123456789012"  # type: ignore[attr-defined]
    aws.clock.advance(1)
    code, msg, status = error_of(sts.get_caller_identity)  # type: ignore[attr-defined]
    assert (code, status) == ("ExpiredToken", 403) and "expired" in msg
    wrong_token = aws.client("sts", creds["AccessKeyId"], creds["SecretAccessKey"], "bogus")
    assert error_of(wrong_token.get_caller_identity)[0] == "InvalidClientTokenId"
    no_token = aws.client("sts", creds["AccessKeyId"], creds["SecretAccessKey"])
    assert error_of(no_token.get_caller_identity)[0] == "InvalidClientTokenId"


def test_role_session_carries_the_mfa_context(aws: Aws) -> None:
    serial, token = aws.enrolled()
    aws.put_policy("alice", "assume", {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"AWS": "123456789012"},
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            }
        ],
    }
    arn = aws.iam.create_role(RoleName="admin-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    assert error_of(lambda: aws.sts.assume_role(RoleArn=arn, RoleSessionName="nomfa"))[0] == "AccessDenied"
    creds = aws.sts.assume_role(
        RoleArn=arn, RoleSessionName="ops", SerialNumber=serial, TokenCode=token.code()
    )["Credentials"]
    aws.clock.advance(42)
    headers = as_session(aws, "sts", creds).get_caller_identity()["ResponseMetadata"]["HTTPHeaders"]  # type: ignore[attr-defined]
    assert headers["x-tokensim-mfa-present"] == "true" and headers["x-tokensim-mfa-age"] == "42"
    ctx = httpx.get(f"{aws.server.url}/_tokensim/credentials/{creds['AccessKeyId']}", timeout=5).json()
    assert ctx["role"] == "admin-role" and ctx["present"] is True and ctx["origin"] == "AssumeRole"


def test_clock_control_endpoint(tmp_path: object) -> None:
    from pathlib import Path

    with AwsServer(Path(str(tmp_path)) / "m.db", clock=ManualClock(T0)) as server:
        url = server.url + "/_tokensim/clock"
        assert httpx.get(url, timeout=5).json() == {"now": T0, "iso": "2026-01-01T00:00:00Z", "manual": True}
        assert httpx.post(url, json={"advance": 3600}, timeout=5).json()["now"] == T0 + 3600
        assert httpx.post(url, json={"set": T0 + 10}, timeout=5).json()["now"] == T0 + 10
        for bad in ({"advance": -1}, {"advance": "x"}, {"set": float("inf")}, {"both": 1}, [1], {}):
            r = httpx.post(url, content=json.dumps(bad), timeout=5)
            assert r.status_code == 400 and "error" in r.json()
        assert server.info()["clock"] == "manual"
    with AwsServer(Path(str(tmp_path)) / "s.db") as server:
        r = httpx.post(server.url + "/_tokensim/clock", json={"advance": 1}, timeout=5)
        assert (
            r.status_code == 409
            and httpx.get(server.url + "/_tokensim/clock", timeout=5).json()["manual"] is False
        )


def test_unknown_condition_keys_are_warnings_not_refusals(aws: Aws, capfd: object) -> None:
    key, secret = aws.user("alice")
    aws.put_policy(
        "alice", "odd",
        {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
        {
            "Effect": "Deny",
            "Action": "s3:ListAllMyBuckets",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SomethingNobodyKnows": "x"}},
        },
    )
    assert (
        aws.client("s3", key, secret).list_buckets()["Buckets"] == []
    )  # absent key: the deny does not apply
    err = capfd.readouterr().err  # type: ignore[attr-defined]
    assert "policy warning" in err and "aws:SomethingNobodyKnows" in err
