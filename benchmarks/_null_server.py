"""A server that answers the MLflow client instantly with fixed bodies (stdlib only).

    python _null_server.py PORT [PATH=FILE ...]

It measures the official client's own cost per call (building protobufs, JSON, HTTP): the
floor under any server's time, so the best ratio any server could reach against MLflow.
PATH=FILE replays a body recorded from a real server (search results, a metric history), so the
client's cost of parsing a large answer is measured too. Each response is written with one send,
so no delayed-ACK stall is measured.
"""

from __future__ import annotations

import json
import socketserver
import sys

RUN = {"info": {"run_id": "0" * 32, "run_uuid": "0" * 32, "experiment_id": "1", "status": "RUNNING",
                "start_time": 1, "lifecycle_stage": "active", "artifact_uri": "mlflow-artifacts:/1"}, "data": {}}
BODIES = {b"/api/2.0/mlflow/experiments/create": {"experiment_id": "1"}, b"/api/2.0/mlflow/runs/create": {"run": RUN}}


REPLAYS: dict[bytes, bytes] = {}


def response(path: bytes) -> bytes:
    route = path.split(b"?")[0]
    body = REPLAYS.get(route) or json.dumps(BODIES.get(route, {})).encode()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    return head + body


class Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        while True:
            request_line = self.rfile.readline()
            if not request_line:
                return
            length = 0
            while True:
                header = self.rfile.readline()
                if header in (b"\r\n", b""):
                    break
                if header.lower().startswith(b"content-length:"):
                    length = int(header.split(b":", 1)[1])
            if length:
                self.rfile.read(length)
            self.wfile.write(response(request_line.split(b" ")[1]))


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    for spec in sys.argv[2:]:
        route, _, file = spec.partition("=")
        with open(file, "rb") as f:
            REPLAYS[route.encode()] = f.read()
    Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
