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
    # Consultancy staff who sign in to the Gatehouse console itself, one per role
    # (the local stack maps these groups to roles: STAFF_ROLE_MAP).
    "sam": {"name": "Sam Admin", "email": "sam@consultancy.example", "email_verified": True, "groups": ["staff", "gatehouse-admins"]},
    "olive": {"name": "Olive Operator", "email": "olive@consultancy.example", "email_verified": True, "groups": ["staff", "gatehouse-operators"]},
    "vince": {"name": "Vince Viewer", "email": "vince@consultancy.example", "email_verified": True, "groups": ["staff", "gatehouse-viewers"]},
}

CONFIDENTIAL_CLIENT_ID = "gatehouse-dev"
CONFIDENTIAL_CLIENT_SECRET = "gatehouse-dev-secret"
PUBLIC_CLIENT_ID = "gatehouse-dev-public"
# The console's own staff sign-in (mozilla-django-oidc): redirect URIs
# http://127.0.0.1:<port>/oidc/callback/ and http://localhost:<port>/oidc/callback/ by rule.
CONSOLE_CLIENT_ID = "gatehouse-console-dev"
CONSOLE_CLIENT_SECRET = "gatehouse-console-dev-secret"
CONSOLE_CALLBACK_PATH = "/oidc/callback/"
EXAMPLE_CONSOLE_REDIRECT_URIS = ["http://127.0.0.1:8000/oidc/callback/"]
# GATEHOUSE_STAFF_OIDC_ROLE_MAP for these personas' groups.
STAFF_ROLE_MAP = {"gatehouse-admins": "admin", "gatehouse-operators": "operator", "gatehouse-viewers": "viewer"}

# Registered for the record; the dev redirect rule (devidp.redirects) accepts
# any */_gatehouse/callback on *.localhost or 127.0.0.1 besides these.
EXAMPLE_REDIRECT_URIS = ["http://demo.localhost:8080/_gatehouse/callback"]
EXAMPLE_POST_LOGOUT_REDIRECT_URIS = ["http://demo.localhost:8080/_gatehouse/signed-out"]
