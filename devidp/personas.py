"""The seeded users and clients. Plain data, no Django: the test fixtures import it.

Every password and secret here is public on purpose; devidp is for loopback only.
"""

PASSWORD = "demo-password"

# eve's domain ends with "example.com" without being in it; uma's address is not
# verified. Both exist so the access rules get exercised with real tokens.
USERS = {
    "ann": {"name": "Ann Client", "email": "ann@client.example", "email_verified": True, "groups": ["demo-viewers"]},
    "bob": {"name": "Bob Consultant", "email": "bob@consultancy.example", "email_verified": True, "groups": ["staff"]},
    "eve": {"name": "Eve Outsider", "email": "eve@evilexample.com", "email_verified": True, "groups": []},
    "uma": {"name": "Uma Unverified", "email": "uma@client.example", "email_verified": False, "groups": []},
}

CONFIDENTIAL_CLIENT_ID = "gatehouse-dev"
CONFIDENTIAL_CLIENT_SECRET = "gatehouse-dev-secret"
PUBLIC_CLIENT_ID = "gatehouse-dev-public"

# Registered for the record; the dev redirect rule (devidp.redirects) accepts
# any */_gatehouse/callback on *.localhost or 127.0.0.1 besides these.
EXAMPLE_REDIRECT_URIS = ["http://demo.localhost:8080/_gatehouse/callback"]
EXAMPLE_POST_LOGOUT_REDIRECT_URIS = ["http://demo.localhost:8080/_gatehouse/signed-out"]
