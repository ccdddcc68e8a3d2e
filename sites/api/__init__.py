"""The REST API (/api/v1/): Django REST framework over the same services, selectors and forms as the pages.

  auth.py         TokenAuthentication: personal API tokens (sites.services.tokens)
  permissions.py  RolePermission: the view's action (sites.roles.ACTIONS) for the user's role and the token's scope
  errors.py       every error as {"error": {"code", "message", "fields"}}
  serializers.py  what the API answers
  views.py        one view per resource; input goes through the pages' forms
  urls.py         /api/v1/... and the OpenAPI schema at /api/schema/
"""
