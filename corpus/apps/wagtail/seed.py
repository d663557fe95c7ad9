# Run by `manage.py shell -c`: the deployment's accounts and a few draft pages each, through Wagtail's own models.
import os

from django.contrib.auth.models import Group, User
from home.models import HomePage

User.objects.create_superuser("admin", "admin@example.test", os.environ["SEED_ADMIN_PASSWORD"])
editors = Group.objects.get(name="Editors")  # made by Wagtail's migrations: admin access, page add/change/publish
home = HomePage.objects.get(depth=2)
for name in ("alice", "bob"):
    user = User.objects.create_user(name, f"{name}@example.test", os.environ[f"SEED_{name.upper()}_PASSWORD"])
    user.groups.add(editors)
    for n in (1, 2):
        page = HomePage(title=f"{name}'s draft {n}", slug=f"{name}-draft-{n}", owner=user, live=False)
        home.add_child(instance=page)
        page.save_revision(user=user)
