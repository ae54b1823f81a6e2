"""The page registry: every page, its URL, and the roles that may open it.

``app.py`` registers all of them on every run (so deep links resolve before and
after login) and shows in the menu only those the user's role may open.
"""

from __future__ import annotations

from dataclasses import dataclass

from data.vocabulary import ROLES


@dataclass(frozen=True)
class PageSpec:
    file: str
    title: str
    url_path: str
    icon: str
    roles: tuple[str, ...] = ROLES
    section: str = "Customers"
    in_menu: bool = True


PAGES: list[PageSpec] = [
    PageSpec("views/home.py", "Home", "home", ":material/home:", in_menu=False),
    PageSpec("views/today.py", "Today", "today", ":material/today:", section="Customers"),
    PageSpec("views/portfolio.py", "Portfolio", "portfolio", ":material/monitoring:", section="Customers"),
    PageSpec("views/accounts.py", "Accounts", "accounts", ":material/groups:"),
    PageSpec("views/account.py", "Account", "account", ":material/domain:", in_menu=False),
    PageSpec("views/playbooks.py", "Playbooks", "playbooks", ":material/playlist_play:", section="Playbooks"),
    PageSpec("views/my_tasks.py", "My tasks", "my_tasks", ":material/task_alt:", roles=("csm", "manager", "admin"),
             section="Playbooks"),
    PageSpec("views/alerts.py", "Alerts", "alerts", ":material/notifications:", section="Playbooks"),
    PageSpec("views/outcomes.py", "Outcomes", "outcomes", ":material/query_stats:",
             roles=("manager", "admin", "data_scientist"), section="Playbooks"),
    PageSpec("views/model_lab.py", "Model lab", "model_lab", ":material/science:", roles=("admin", "data_scientist"),
             section="Models"),
    PageSpec("views/data.py", "Data", "data", ":material/database:", roles=("admin", "data_scientist"),
             section="Workspace"),
    PageSpec("views/admin.py", "Admin", "admin", ":material/admin_panel_settings:", roles=("admin",),
             section="Workspace"),
    PageSpec("views/learn.py", "Learn", "learn", ":material/school:", section="Help"),
]

DEFAULT_PAGE = "home"

# Where each role lands after login, best first.
LANDING = {"manager": ("portfolio", "accounts"), "admin": ("portfolio", "accounts"),
           "csm": ("today", "accounts"), "data_scientist": ("model_lab", "accounts")}


def allowed(spec: PageSpec, roles: tuple[str, ...]) -> bool:
    return bool(set(spec.roles).intersection(roles))


def spec_for(url_path: str) -> PageSpec | None:
    return next((p for p in PAGES if p.url_path == url_path), None)


def landing_page(roles: tuple[str, ...]) -> PageSpec:
    """The first existing, allowed page among the role's landing choices (Accounts as fallback)."""
    for role in roles:
        for url in LANDING.get(role, ()):
            spec = spec_for(url)
            if spec is not None and allowed(spec, roles):
                return spec
    return spec_for("accounts")
