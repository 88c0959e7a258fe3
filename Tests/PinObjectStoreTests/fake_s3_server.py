#!/usr/bin/env python3
"""A tiny S3 imitation that fails on purpose, for the retry and error tests.

Prints its port, then serves until stdin closes. The first path segment after the bucket picks
the behaviour: slowdown-N (N answers 503 SlowDown, then 200), error500-N (500 InternalError),
throttle429-N (429 without a body), denied (403 AccessDenied), badkey (403 InvalidAccessKeyId),
badsignature (403 SignatureDoesNotMatch); for downloads of a 1,000-byte object that break after
400 bytes: cutoff (every answer breaks, ranges honoured), ignorerange (the first answer breaks,
later ones ignore the range and send everything), changed (the object changes after the first
answer, so If-Match fails); slow (100 bytes every 0.1 s, for cancellation); failpart (a multipart upload whose part 2 is
refused; the abort is counted under /bucket/aborted/<rest>). GET /bucket/_count/<path> answers how many requests <path> received.
"""
import re
import socket
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

counts = Counter()
lock = threading.Lock()


def error_xml(code, message):
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>'
        f"<StringToSign>AWS4-HMAC-SHA256 ...</StringToSign><RequestId>REQ123</RequestId></Error>"
    ).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", content_type="application/xml"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        parts = self.path.split("?")[0].split("/")  # "", bucket, behaviour, ...
        if len(parts) > 3 and parts[2] == "_count":
            with lock:
                count = counts["/".join(["", parts[1]] + parts[3:])]
            return self.answer(200, str(count).encode(), "text/plain")
        path = self.path.split("?")[0]
        with lock:
            counts[path] += 1
            seen = counts[path]
        if self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 ") is False:
            return self.answer(400, error_xml("MissingSecurityHeader", "no signature"))
        behaviour = parts[2] if len(parts) > 2 else ""
        name, _, limit = behaviour.partition("-")
        failures = int(limit) if limit.isdigit() else 0
        if name == "slowdown" and seen <= failures:
            return self.answer(503, error_xml("SlowDown", "Please reduce your request rate."))
        if name == "error500" and seen <= failures:
            return self.answer(500, error_xml("InternalError", "We encountered an internal error."))
        if name == "throttle429" and seen <= failures:
            return self.answer(429)
        if name == "failpart":
            query = self.path.partition("?")[2]
            if self.command == "POST" and query.startswith("uploads"):
                body = b"<InitiateMultipartUploadResult><UploadId>UP1</UploadId></InitiateMultipartUploadResult>"
                return self.answer(200, body)
            if self.command == "PUT" and "partNumber=2&" in query + "&":
                return self.answer(400, error_xml("InvalidArgument", "Part refused on purpose"))
            if self.command == "PUT":
                self.send_response(200)
                self.send_header("ETag", '"part"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.command == "DELETE" and "uploadId=UP1" in query:
                with lock:
                    counts["/".join(["", parts[1], "aborted"] + parts[2:])] += 1
                return self.answer(204)
        if name == "slow" and self.command == "GET":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(1000):
                    self.wfile.write(b"x" * 100)
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
            self.close_connection = True
            return
        if name in ("cutoff", "ignorerange", "changed") and self.command == "GET":
            return self.download(name, seen)
        if name == "denied":
            return self.answer(403, error_xml("AccessDenied", "Access Denied"))
        if name == "badkey":
            return self.answer(403, error_xml("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."))
        if name == "badsignature":
            return self.answer(403, error_xml("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."))
        self.answer(200, b"ok", "application/octet-stream")

    def download(self, name, seen):
        data = bytes(i % 251 for i in range(1000))
        etag = '"v2"' if name == "changed" and seen > 1 else '"v1"'
        wanted = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if_match = self.headers.get("If-Match")
        if if_match is not None and if_match != etag:
            return self.answer(412, error_xml("PreconditionFailed", "At least one of the pre-conditions you specified did not hold"))
        start = int(wanted.group(1)) if wanted and name != "ignorerange" else 0
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(data) - start))
        self.send_header("ETag", etag)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        breaks = name == "cutoff" or seen == 1
        self.wfile.write(data[start : start + 400] if breaks else data[start:])
        if breaks:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()
