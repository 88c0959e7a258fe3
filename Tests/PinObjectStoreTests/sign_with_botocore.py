#!/usr/bin/env python3
"""Signs S3 requests with botocore, for comparison with SigV4Signer.

Reads one JSON array of cases on stdin; each case has: method, endpoint (scheme://host), bucket,
key (may be null), params ([[name, value], ...]), headers ({name: value}), body (UTF-8 text),
access_key, secret_key, token (or null), region, timestamp (YYYYMMDDTHHMMSSZ), unsigned (bool).
Prints a JSON array with, per case, the path botocore sends and the Authorization header.
"""
import datetime
import json
import sys

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.utils import percent_encode, percent_encode_sequence


def sign(case):
    stamp = datetime.datetime.strptime(case["timestamp"], "%Y%m%dT%H%M%SZ")
    botocore.auth.get_current_datetime = lambda *args, **kwargs: stamp
    path = "/" + case["bucket"]
    if case.get("key") is not None:
        path += "/" + percent_encode(case["key"], safe="/~")
    url = case["endpoint"] + path
    params = [tuple(pair) for pair in case.get("params", [])]
    if params:
        url += "?" + percent_encode_sequence(params)
    request = AWSRequest(
        method=case["method"], url=url, headers=dict(case.get("headers", {})), data=case.get("body", "").encode("utf-8")
    )
    if case.get("unsigned"):
        request.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    credentials = Credentials(case["access_key"], case["secret_key"], case.get("token"))
    botocore.auth.S3SigV4Auth(credentials, "s3", case["region"]).add_auth(request)
    return {"path": path, "authorization": request.headers["Authorization"]}


if __name__ == "__main__":
    print(json.dumps([sign(case) for case in json.load(sys.stdin)]))
