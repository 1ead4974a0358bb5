"""Plays Vault's part with python-consul2 (Debian python3-consul2), a client nobody on this project wrote.

Arguments: the directory holding the token Secret's files, and the port the simulated Consul listens on. Every
connection goes to 127.0.0.1:<port> whatever host name is dialled, as the cluster's DNS would route it; the host name
still goes out in SNI and is checked against the server certificate. Prints one JSON object of what it saw.
"""
import json
import os
import sys

import consul
import urllib3.util.connection

secret_dir, port = sys.argv[1], int(sys.argv[2])
original = urllib3.util.connection.create_connection
urllib3.util.connection.create_connection = lambda address, *args, **kwargs: original(("127.0.0.1", port), *args, **kwargs)


def read(name):
    with open(os.path.join(secret_dir, name)) as f:
        return f.read()


address = read("CONSUL_HTTP_ADDR")
host, address_port = address.removeprefix("https://").split(":")
client = consul.Consul(host=host, port=int(address_port), scheme="https", token=read("token"),
                       verify=os.path.join(secret_dir, "ca.crt"),
                       cert=(os.path.join(secret_dir, "tls.crt"), os.path.join(secret_dir, "tls.key")))

seen = {}
seen["put_inside"] = client.kv.put("vault/python", "from python")
index, entry = client.kv.get("vault/python")
seen["get_inside"] = entry["Value"].decode() if entry else None
seen["index_is_a_number"] = isinstance(index, str) and index.isdigit()
seen["get_missing"] = client.kv.get("vault/absent")[1]
try:
    client.kv.put("app/python", "not vault's")
    seen["put_outside"] = "allowed"
except consul.ACLPermissionDenied as denied:
    seen["put_outside"] = "denied: " + str(denied)
me = client.acl.tokens.self()
seen["self_accessor"] = me["AccessorID"]
seen["self_policies"] = [p["Name"] for p in me.get("Policies") or []]
seen["delete_inside"] = client.kv.delete("vault/python")
print(json.dumps(seen))
