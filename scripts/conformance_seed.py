#!/usr/bin/env python3
"""Seeds a running walletcards with one of each resource and writes a schemathesis.toml that
points the operations taking an id at them, so the conformance run (scripts/conformance.sh)
checks real answers (a card with its balance and face, a ledger, an export) and not only 404s.

Usage: conformance_seed.py BASE_URL ADMIN_KEY CONFIG_PATH
"""

import io
import json
import sys
import urllib.request
import zipfile

base, key, config_path = sys.argv[1:4]


def call(method, path, body=None, raw=False):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + "/api/v1" + path, data=data, method=method)
    request.add_header("Authorization", "Bearer " + key)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read() if raw else json.load(response)


def program(kind, rules):
    return call("POST", "/programs", {
        "name": "Conformance " + kind, "kind": kind, "currency": "EUR",
        "time_zone": "Europe/Berlin", "balance_scope": "account", "rules": rules,
    })["id"]


cashback = program("cashback", {"percent_bps": 300, "min_order_minor": 10000})
stamp = program("stamp", {"stamps_required": 3, "min_order_minor": 1000, "reward": "Coffee"})
account = call("POST", "/accounts", {"name": "Conformance GmbH", "external_id": "C-1"})["id"]
holder = call("POST", f"/accounts/{account}/members",
              {"name": "Anna Petrova", "email": "anna@example.test"})["id"]
# A second member the member operations (erase among them) work on.
other = call("POST", f"/accounts/{account}/members",
             {"name": "Boris Ivanov", "email": "boris@example.test", "phone": "+49 30 1234567"})["id"]
card = call("POST", "/cards", {"program_id": cashback, "member_id": holder})
call("POST", "/cards", {"program_id": stamp, "member_id": other})
call("POST", "/orders", {"external_id": "SEED-1", "account_id": account, "member_id": holder,
                         "amount_minor": 100000, "currency": "EUR",
                         "placed_at": "2026-11-20T10:00:00Z"})
invite = call("POST", "/invites", {"account_id": account, "program_ids": [cashback]})["id"]
api_key = call("POST", "/api-keys", {"name": "Conformance desk", "role": "desk"})["id"]

# What a device reads from a pass: the PassKit web service's ids and token. A card of its own,
# which the admin operations (revoke among them) leave alone.
clara = call("POST", f"/accounts/{account}/members", {"name": "Clara Weiss"})["id"]
on_device = call("POST", "/cards", {"program_id": cashback, "member_id": clara})
pkpass = call("GET", f"/cards/{on_device['id']}/pass.pkpass", raw=True)
pass_json = json.loads(zipfile.ZipFile(io.BytesIO(pkpass)).read("pass.json"))
device = {"path.deviceLibraryIdentifier": "0123456789abcdef0123456789abcdef",
          "path.passTypeIdentifier": pass_json["passTypeIdentifier"]}
the_pass = {"path.passTypeIdentifier": pass_json["passTypeIdentifier"],
            "path.serialNumber": pass_json["serialNumber"]}
wallet = {"Authorization": "ApplePass " + pass_json["authenticationToken"]}

# (operation name regex, fixed parameters, headers over the admin key's)
passkit = r"^[A-Z]+ /passes/v1/"
operations = [
    (passkit + r"devices/[^ ]+/\{serialNumber\}$", {**device, **the_pass}, wallet),
    (passkit + r"devices/[^ ]+/\{passTypeIdentifier\}$", device, {}),
    (passkit + r"passes/", the_pass, wallet),
    (r"^[A-Z]+ /api/v1/programs/\{id\}", {"path.id": cashback}),
    (r"^[A-Z]+ /api/v1/accounts/\{id\}", {"path.id": account}),
    (r"^[A-Z]+ /api/v1/members/\{id\}", {"path.id": other}),
    (r"^[A-Z]+ /api/v1/cards/\{id\}", {"path.id": card["id"]}),
    (r"^GET /api/v1/cards/by-code/\{code\}$", {"path.code": card["code"]}),
    (r"^POST /api/v1/orders/\{external_id\}/refunds$", {"path.external_id": "SEED-1"}),
    (r"^[A-Z]+ /api/v1/invites/\{id\}", {"path.id": invite}),
    (r"^POST /api/v1/api-keys/\{id\}/revoke$", {"path.id": api_key}),
    (r"^POST /api/v1/cards$", {"body.program_id": stamp, "body.member_id": holder}),
    (r"^POST /api/v1/orders$", {"body.account_id": account}),
    (r"^POST /api/v1/invites$", {"body.account_id": account}),
    (r"^POST /api/v1/desk/quote$", {"body.card_code": card["code"]}),
]

with open(config_path, "w") as out:
    for pattern, parameters, *headers in operations:
        out.write("[[operations]]\n")
        out.write(f"include-name-regex = {json.dumps(pattern)}\n")
        pairs = ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in parameters.items())
        out.write(f"parameters = {{ {pairs} }}\n")
        if headers and headers[0]:
            pairs = ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in headers[0].items())
            out.write(f"headers = {{ {pairs} }}\n")
        out.write("\n")
