# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the collection: not covered by semantic versioning.
# Use it only from nodeops.chainlink's own plugins.
"""The one place where this collection reaches into community.docker's module_utils.

community.docker has no public module_utils API: in 4.x ``_api`` is private by name and ``common_api`` and the
client's underscored methods carry no stability promise; 5.0 made every module util private (``common_api`` became
``_common_api``) and says they may change in any release. So this file imports each name from where 5.x keeps it, falling
back to 4.x's place, galaxy.yml admits 4.x and 5.x only, and CI runs the modules against both (4.8.5 in the ansible 12
venv, 5.4.0 in the ansible 14 one). A new community.docker release means checking this file only: the connection
client, its two error types, whether ``requests`` is missing, and a streamed GET.
"""

from __future__ import annotations

import typing as t

from ansible_collections.community.docker.plugins.module_utils._api._import_helper import REQUESTS_IMPORT_ERROR, URLLIB3_IMPORT_ERROR
from ansible_collections.community.docker.plugins.module_utils._api.errors import DockerException

try:  # community.docker 5.x
    from ansible_collections.community.docker.plugins.module_utils._common_api import AnsibleDockerClient, RequestException
except ImportError:  # community.docker 4.x
    from ansible_collections.community.docker.plugins.module_utils.common_api import AnsibleDockerClient, RequestException

__all__ = ["DockerApiClient", "DockerException", "RequestException", "transport_missing"]


def transport_missing() -> bool:
    """True when the Python that runs the module lacks ``requests`` or ``urllib3`` (community.docker then fails itself)."""
    return REQUESTS_IMPORT_ERROR is not None or URLLIB3_IMPORT_ERROR is not None


class DockerApiClient(AnsibleDockerClient):  # type: ignore[misc]  # community.docker ships no type information
    """community.docker's AnsibleDockerClient (connection options, TLS, SSH, API version) with a public surface.

    ``prepare_params`` is called once, on the parsed module parameters, before the first contact with the daemon.
    """

    def prepare_params(self, params: dict[str, t.Any]) -> dict[str, t.Any]:
        return params

    def _get_params(self) -> dict[str, t.Any]:
        # community.docker's hook: it reads the connection parameters through it, after building the AnsibleModule
        return self.prepare_params(dict(self.module.params))

    def stream_get(self, path: str, *path_args: str, params: dict[str, t.Any]) -> tuple[t.Any, list[t.Any]]:
        """GET an API path as a stream: the ``requests`` response, and the sockets whose timeout bounds its reads.

        Raises community.docker's errors (DockerException, RequestException) for a refused request; the caller closes
        the response. The sockets are the connection's own and, over TLS or SocketIO, the wrapped one, as
        community.docker's own attach streaming sets them.
        """
        response = self._get(self._url(path, *path_args), params=params, stream=True)
        try:
            self._raise_for_status(response)
            sock = self._get_raw_response_socket(response)
        except BaseException:
            response.close()
            raise
        return response, [s for s in (sock, getattr(sock, "_sock", None)) if hasattr(s, "settimeout")]
