#!/usr/bin/env python3
"""visits.py INVENTORY COOKIES: one request to /visits/ through the inventory's load
balancer with the session cookie kept in COOKIES; prints the session's visit counter."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "grow"))
import poll  # noqa: E402  (the poller's entry point and client)

inventory, jar = sys.argv[1], sys.argv[2]
client = poll.Client(poll.entry(inventory))
if os.path.exists(jar):
    client.cookies = json.load(open(jar))
status, body = client.request("GET", "/visits/")
if status != 200:
    sys.exit(f"/visits/ answered {status}")
json.dump(client.cookies, open(jar, "w"))
print(json.loads(body)["visits"])
