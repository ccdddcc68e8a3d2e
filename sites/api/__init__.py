"""The REST API (/api/v1/): Django REST framework over the same services, selectors and forms as the pages.

  auth.py         TokenAuthentication: personal API tokens (sites.services.tokens)
  permissions.py  RolePermission: the view's action (sites.roles.ACTIONS) for the user's role and the token's scope
  throttling.py   TokenRateThrottle: requests per token (GATEHOUSE_API_RATE), 429 over it
  errors.py       every error as {"error": {"code", "message", "fields"}}, also Django's own 400/404/500 under /api/
  pagination.py   Pages: ?limit=&offset=, a 400 for values the schema does not allow
  schema.py       the schema's error answers on every operation (a drf-spectacular postprocessing hook)
  serializers.py  what the API answers
  views.py        one view per resource; input goes through the pages' forms
  invitations.py  one invitation: resend, remove
  urls.py         /api/v1/... and the OpenAPI schema at /api/schema/
"""
