"""Filters that derive each project's layout and the per-tier views of the project list.

The inventory lists projects in ``ntier_projects``; these filters give every role the plain
values it needs (paths, sockets, database names, nginx sites), so that no role reads
another role's defaults.
"""

from __future__ import annotations


# Uploads are never executed: only these types, which browsers do not run, are served as
# what they are; every other upload (html, svg, js...) is a download (octet-stream). The
# one list nginx (web and media hosts) and Apache are given: {MIME type: [extensions]}.
UPLOAD_TYPES = {
    "image/png": ["png"], "image/jpeg": ["jpg", "jpeg"], "image/gif": ["gif"], "image/webp": ["webp"],
    "image/avif": ["avif"], "application/pdf": ["pdf"], "text/plain": ["txt"], "audio/mpeg": ["mp3"],
    "video/mp4": ["mp4"],
}


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
        "pip_index_url": "",
        "install_project": False,
        "system_packages": [],
        "extra_settings": {},
        "contrib_postgres": True,
        "db_server_side_binding": False,
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


def nginx_sites(projects, serve_files=True, behind=None, files_from=None, topology=None):
    """The nginx role's view of the web tier: one site per project.

    HTTPS by default; plain HTTP from the load balancers only when ``behind`` lists them.
    ``files_from`` lists the media hosts that serve /static/ and /media/ in its place.
    ``topology`` (ntier.django.topology) gives both: the load balancers in front, else
    the media hosts.
    """
    if topology is not None:
        behind = topology.get("lb_addresses") or []
        files_from = [] if topology.get("web_behind_lb") else (topology.get("media_upstreams") or [])
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
            "upload_types": UPLOAD_TYPES,
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


def media_primary(topology, host, hostvars, media):
    """The media role's media_primary for ``host``: {} on the store the web nodes write (or
    without a media tier); on a standby, how it reaches the primary's store: {address,
    user, host_key (the primary's media_host_key, once exported), private_key}.
    ``media`` is the cluster role's cluster_media ({user, private_key, ...})."""
    primary = topology.get("media_store_host")
    if not topology.get("media_dedicated") or host == primary:
        return {}
    return {"address": topology["media_store_address"], "user": media["user"],
            "host_key": hostvars[primary].get("media_host_key") or "", "private_key": media.get("private_key", "")}


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
            "media_url": p["media_url"], "media_root": p["media_root"], "upload_types": UPLOAD_TYPES}


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


class FilterModule:
    def filters(self):
        return {
            "project_layout": project_layout,
            "media_primary": media_primary,
            "database_projects": database_projects,
            "nginx_sites": nginx_sites,
            "apache_sites": apache_sites,
            "tls_sites": tls_sites,
            "media_sites": media_sites,
            "shared_storage": shared_storage,
            "haproxy_sites": haproxy_sites,
            "store_dirs": store_dirs,
        }
