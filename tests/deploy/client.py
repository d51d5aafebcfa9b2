#!/usr/bin/env python3
"""One request through the inventory's load balancer (tests/grow/poll.py's client).

    client.py INVENTORY visits COOKIES   the session's visit counter (cookies kept in COOKIES)
    client.py INVENTORY stylesheet       the stylesheet the home page links (a hashed name)
    client.py INVENTORY get PATH         the HTTP status of PATH
    client.py INVENTORY sign             a token signed with SECRET_KEY (/signed/)
    client.py INVENTORY check TOKEN      the status /signed/ answers for it (200: signature checks)
"""
import json
import os
import re
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "grow"))
import poll  # noqa: E402  (the poller's entry point and client)

inventory, what = sys.argv[1], sys.argv[2]
client = poll.Client(poll.entry(inventory))
if what == "visits":
    jar = sys.argv[3]
    if os.path.exists(jar):
        client.cookies = json.load(open(jar))
    status, body = client.request("GET", "/visits/")
    if status != 200:
        sys.exit(f"/visits/ answered {status}")
    json.dump(client.cookies, open(jar, "w"))
    print(json.loads(body)["visits"])
elif what == "stylesheet":
    status, page = client.request("GET", "/")
    found = re.search(r'href="(/static/[^"]+\.css)"', page)
    if status != 200 or not found:
        sys.exit(f"/ answered {status} without a stylesheet")
    print(found.group(1))
elif what == "get":
    print(client.request("GET", sys.argv[3])[0])
elif what == "sign":
    status, body = client.request("GET", "/signed/")
    if status != 200:
        sys.exit(f"/signed/ answered {status}")
    print(json.loads(body)["token"])
elif what == "check":
    print(client.request("GET", "/signed/?token=" + urllib.parse.quote(sys.argv[3]))[0])
