"""Console forms, one module per page; the names the views import are re-exported here.

  fields.py          LinesField
  staged_builds.py   a zip chosen on a form: checked, staged, carried across a failed submit
  providers.py       the identity provider fields, "Check provider"
  site_settings.py   SiteSettingsForm: the settings shared by onboarding and editing
  onboard.py         OnboardForm
  edit.py            SiteEditForm
  site_actions.py    BuildUploadForm, ExtendAccessForm, MoveReleaseForm, DeleteSiteForm
  people.py          InviteForm
  share_links.py     ShareLinkForm
"""

from .edit import SiteEditForm
from .fields import LinesField
from .onboard import OnboardForm
from .people import InviteForm
from .share_links import ShareLinkForm
from .providers import NEW_PROVIDER, PRESET_FIELDS, ProviderCheckForm, ProviderFieldsMixin
from .site_actions import BuildUploadForm, DeleteSiteForm, ExtendAccessForm, MoveReleaseForm
from .site_settings import SiteSettingsForm
from .staged_builds import STAGED_PREFIX, StagedBuildMixin, staged_max_age, stage_build, staged_name_from, staged_token, zip_problem
