"""Disposable lab hosts in network namespaces, for rehearsing the room's playbooks."""
