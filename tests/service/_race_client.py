"""A racing client, run as ``python -I _race_client.py URL`` (stdlib only: starts in milliseconds).

For every JSON line ``{"serial", "code", "at"}`` on stdin it POSTs /v1/check through a connection
opened BEFORE the line arrives, so all clients fire together, and prints the reason as one line.
"""

import http.client
import json
import sys
from urllib.parse import urlsplit


def main() -> None:
    u = urlsplit(sys.argv[1])
    while True:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        conn.connect()
        line = sys.stdin.readline()
        if not line:
            conn.close()
            return
        try:
            headers = {"Content-Type": "application/json"}
            conn.request("POST", "/v1/check", body=line.encode(), headers=headers)
            reason = json.loads(conn.getresponse().read())["reason"]
        except Exception as e:
            reason = f"error: {e}"
        finally:
            conn.close()
        sys.stdout.write(reason + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
