#!/usr/bin/env python3
"""An ordinary boto3 enrollment script, as a team might already have one (nothing tokensim in it).

    python enroll_mfa.py USER QR.png

Creates a virtual MFA device for USER, writes its QR code for the user to scan, enables it with
two consecutive codes read from stdin, then opens a one-hour MFA session with a third code.
The endpoint comes from the usual boto3 configuration (AWS_ENDPOINT_URL, profiles, ...).
"""

import sys

import boto3
from botocore.exceptions import ClientError


def ask(prompt: str) -> str:
    print(prompt, file=sys.stderr, flush=True)
    return sys.stdin.readline().strip()


def main(user: str, qr_path: str) -> int:
    iam = boto3.client("iam")
    sts = boto3.client("sts")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=user)["VirtualMFADevice"]
    serial = device["SerialNumber"]
    with open(qr_path, "wb") as f:
        f.write(device["QRCodePNG"])
    try:
        code1 = ask(f"scan {qr_path}; first code:")
        code2 = ask("next code:")
        iam.enable_mfa_device(UserName=user, SerialNumber=serial,
                              AuthenticationCode1=code1, AuthenticationCode2=code2)
        print(f"enabled {serial}", flush=True)
        code = ask("a fresh code for the session:")
        creds = sts.get_session_token(SerialNumber=serial, TokenCode=code,
                                      DurationSeconds=3600)["Credentials"]
    except ClientError as e:
        err = e.response["Error"]
        print(f"failed: {err['Code']}: {err['Message']}", flush=True)
        return 1
    print(f"session {creds['AccessKeyId']} until {creds['Expiration'].isoformat()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
