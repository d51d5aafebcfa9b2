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
        "user": name,
        "python": "/usr/bin/python3",
        "db_name": name,
        "db_user": name,
        "health_path": "/-/health/",
        "source_subdir": "",
        "requirements_file": "requirements.txt",
        "install_project": False,
        "system_packages": [],
        "extra_settings": {},
        "contrib_postgres": True,
        "extra_installed_apps": [],
        "extra_middleware": [],
        "tls_certificate": "",
        "tls_certificate_key": "",
        "version": "",
        "keep_releases": 5,
    }
    # secrets stay out of the derived entry, which tasks loop over and may print
    out.update({k: v for k, v in project.items() if v is not None and k not in ("secret_key", "secret_key_fallbacks", "db_password")})
    return out


def database_projects(projects, secrets):
    """The database role's view: one {name, user, password} per project."""
    out = []
    for project in projects:
        p = project_layout(project)
        out.append({"name": p["db_name"], "user": p["db_user"], "password": secrets[p["name"]]["db_password"]})
    return out


def nginx_sites(projects, serve_files=True, behind=None, files_from=None):
    """The nginx role's view of the web tier: one site per project.

    HTTPS by default; plain HTTP from the load balancers only when ``behind`` lists them.
    ``files_from`` lists the media hosts that serve /static/ and /media/ in its place.
    """
    sites = []
    for project in projects:
        p = project_layout(project)
        site = {
            "name": p["name"],
            "server_names": list(p["server_names"]),
            "upstream": f"unix:{p['socket']}",
            "health_path": p["health_path"],
        }
        if behind:
            site.update(tls=False, allow=list(behind), behind=list(behind))
        if files_from:
            site.update(files_upstream=[a if ":" in a else f"{a}:80" for a in files_from],
                        static_url=p["static_url"], media_url=p["media_url"])
        site.update(_files(p, serve_files))
        sites.append(site)
    return sites


def media_sites(projects, store_dir, allow):
    """The nginx role's view of a media host: the files of every project, plain HTTP,
    for the tier in front of it (load balancers or web nodes) only."""
    sites = []
    for project in projects:
        p = project_layout(project)
        sites.append({
            "name": p["name"],
            "server_names": list(p["server_names"]),
            "tls": False,
            "allow": list(allow),
            "static_url": p["static_url"], "static_root": f"{store_dir}/{p['name']}/static",
            "media_url": p["media_url"], "media_root": f"{store_dir}/{p['name']}/media",
        })
    return sites


def shared_storage(project, topology, store_dir, user, host_key, private_key):
    """The django_app role's view of the media tier's store for one project ({} when none)."""
    if not topology.get("media_dedicated"):
        return {}
    p = project_layout(project)
    return {"host": topology["media_store_address"], "user": user, "host_key": host_key,
            "private_key": private_key, "static_path": f"/{p['name']}/static",
            "media_path": f"/{p['name']}/media"}


def store_dirs(projects, store_dir, kind="media"):
    """{project name: its directory of the given kind (media or static) in the media store}."""
    return {project_layout(p)["name"]: f"{store_dir}/{project_layout(p)['name']}/{kind}" for p in projects}


def haproxy_sites(projects):
    """The haproxy role's view: one backend per project, routed by host name."""
    out = []
    for project in projects:
        p = project_layout(project)
        out.append({"name": p["name"], "server_names": list(p["server_names"]), "health_path": p["health_path"],
                    "static_url": p["static_url"], "media_url": p["media_url"]})
    return out


def _files(p, serve_files):
    if not serve_files:
        return {}
    return {"static_url": p["static_url"], "static_root": p["static_root"],
            "media_url": p["media_url"], "media_root": p["media_root"]}


def tls_sites(projects):
    """The tls role's view: one certificate per project."""
    out = []
    for project in projects:
        p = project_layout(project)
        site = {"name": p["name"], "server_names": list(p["server_names"])}
        if p["tls_certificate"]:
            site.update(certificate=p["tls_certificate"], certificate_key=p["tls_certificate_key"])
        out.append(site)
    return out


def apache_sites(projects, serve_files=True):
    """The apache role's view: one mod_wsgi daemon process group and virtual host per project."""
    sites = []
    for project in projects:
        p = project_layout(project)
        src = f"{p['root']}/current/src" + (f"/{p['source_subdir']}" if p["source_subdir"] else "")
        site = {
            "name": p["name"],
            "server_names": list(p["server_names"]),
            "user": p["user"],
            "group": p["user"],
            "settings_module": "ntier_settings",
            "wsgi_module": p["wsgi_module"],
            "wsgi_script": f"{p['root']}/wsgi/apache.py",
            "python_home": f"{p['root']}/current/venv",
            "python_path": [f"{p['root']}/config", src],
            "health_path": p["health_path"],
        }
        site.update(_files(p, serve_files))
        sites.append(site)
    return sites


def rollback_choices(name, statuses):
    """The releases the web nodes would roll project ``name`` back to: the sorted distinct
    "previous" of every node's status ({project: {current, previous, pending}}); "" stands
    for a node with none. One element: the nodes agree."""
    return sorted({(status or {}).get(name, {}).get("previous", "") for status in statuses})


class FilterModule:
    def filters(self):
        return {
            "rollback_choices": rollback_choices,
            "project_layout": project_layout,
            "database_projects": database_projects,
            "nginx_sites": nginx_sites,
            "apache_sites": apache_sites,
            "tls_sites": tls_sites,
            "media_sites": media_sites,
            "shared_storage": shared_storage,
            "haproxy_sites": haproxy_sites,
            "store_dirs": store_dirs,
        }
