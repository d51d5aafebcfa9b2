"""Filters that derive each project's layout and the per-tier views of the project list.

The inventory lists projects in ``ntier_projects``; these filters give every role the plain
values it needs (paths, sockets, database names, nginx sites), so that no role reads
another role's defaults.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: project_layout
short_description: Complete one entry of ntier_projects with its derived paths and names
description:
  - Adds root, static_root, media_root, socket, db_name, db_user, static_url, media_url and
    health_path to a project entry, keeping any the inventory sets itself.
positional: _input
options:
  _input:
    description: One entry of ntier_projects.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Where the demo project lives
  ansible.builtin.debug:
    msg: "{{ (ntier_projects[0] | ntier.django.project_layout).root }}"
"""

RETURN = r"""
_value:
  description: The completed project entry.
  type: dict
"""


def project_layout(project):
    name = project["name"]
    root = project.get("root") or f"/srv/django/{name}"
    out = {
        "root": root,
        "static_root": f"{root}/static",
        "media_root": f"{root}/media",
        "static_url": "/static/",
        "media_url": "/media/",
        "socket": f"/run/gunicorn-{name}.sock",
        "db_name": name,
        "db_user": name,
        "health_path": "/-/health/",
        "source_subdir": "",
        "requirements_file": "requirements.txt",
        "install_project": False,
        "system_packages": [],
        "extra_settings": {},
        "tls_certificate": "",
        "tls_certificate_key": "",
    }
    out.update({k: v for k, v in project.items() if v is not None})
    return out


def database_projects(projects, secrets):
    """The database role's view: one {name, user, password} per project."""
    out = []
    for project in projects:
        p = project_layout(project)
        out.append({"name": p["db_name"], "user": p["db_user"], "password": secrets[p["name"]]["db_password"]})
    return out


def nginx_sites(projects, serve_files=True):
    """The nginx role's view of the web tier: one HTTPS site per project."""
    sites = []
    for project in projects:
        p = project_layout(project)
        site = {
            "name": p["name"],
            "server_names": list(p["server_names"]),
            "upstream": f"unix:{p['socket']}",
            "health_path": p["health_path"],
            "tls_certificate": p["tls_certificate"],
            "tls_certificate_key": p["tls_certificate_key"],
        }
        if serve_files:
            site.update(
                static_url=p["static_url"], static_root=p["static_root"],
                media_url=p["media_url"], media_root=p["media_root"],
            )
        sites.append(site)
    return sites


class FilterModule:
    def filters(self):
        return {
            "project_layout": project_layout,
            "database_projects": database_projects,
            "nginx_sites": nginx_sites,
        }
