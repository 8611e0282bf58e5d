# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the collection: not covered by semantic versioning.
# Use it only from nodeops.chainlink's own plugins.

from __future__ import annotations


class ModuleDocFragment:
    # The Docker connection options every module built on plugins/module_utils/_docker.py takes: community.docker's
    # DOCKER_COMMON_ARGS, the same in its 4.x and 5.x. Its own fragment for them cannot be named from here: 5.0 renamed
    # it (docker -> _docker) and declared all its doc fragments private.
    DOCUMENTATION = r"""
options:
  docker_host:
    description:
      - Where the Docker API listens, as a URL (V(unix:///var/run/docker.sock), V(tcp://192.0.2.10:2376),
        V(ssh://user@host)). With TLS on, a C(tcp) URL is used as C(https).
      - Unset in the task, E(DOCKER_HOST) applies; unset there too, the default.
    type: str
    default: unix:///var/run/docker.sock
    aliases:
      - docker_url
  tls_hostname:
    description:
      - The server name expected in the Docker host's certificate when O(validate_certs) is on.
      - Unset in the task, E(DOCKER_TLS_HOSTNAME) applies; unset there too, the host name of O(docker_host).
    type: str
  api_version:
    description:
      - The Docker API version to speak; V(auto) takes the newest that both the daemon and community.docker know.
      - Unset in the task, E(DOCKER_API_VERSION) applies.
    type: str
    default: auto
    aliases:
      - docker_api_version
  timeout:
    description:
      - Seconds to wait for an answer to one API request.
      - Unset in the task, E(DOCKER_TIMEOUT) applies.
    type: int
    default: 60
  ca_path:
    description:
      - CA certificate file to verify the Docker host's certificate with.
      - Unset, C(ca.pem) in the directory E(DOCKER_CERT_PATH) names, if that is set.
    type: path
    aliases:
      - ca_cert
      - tls_ca_cert
      - cacert_path
  client_cert:
    description:
      - Client certificate file for TLS authentication; goes with O(client_key).
      - Unset, C(cert.pem) in the directory E(DOCKER_CERT_PATH) names, if that is set.
    type: path
    aliases:
      - tls_client_cert
      - cert_path
  client_key:
    description:
      - Key file of O(client_cert).
      - Unset, C(key.pem) in the directory E(DOCKER_CERT_PATH) names, if that is set.
    type: path
    aliases:
      - tls_client_key
      - key_path
  tls:
    description:
      - Encrypt the connection with TLS but do not verify the Docker host's certificate. O(validate_certs=true) wins
        over it.
      - Unset in the task, E(DOCKER_TLS) applies.
    type: bool
    default: false
  use_ssh_client:
    description:
      - For an C(ssh://) O(docker_host), run the C(ssh) command instead of the paramiko library.
    type: bool
    default: false
  validate_certs:
    description:
      - Encrypt the connection with TLS and verify the Docker host's certificate.
      - Unset in the task, E(DOCKER_TLS_VERIFY) applies.
    type: bool
    default: false
    aliases:
      - tls_verify
  debug:
    description:
      - community.docker's debug switch for its client.
    type: bool
    default: false
notes:
  - The connection is community.docker's own API client (no Docker SDK for Python), so the options and environment
    variables are those of community.docker's modules such as M(community.docker.docker_container_info).
requirements:
  - requests (in the Python that runs the module)
  - paramiko (for an C(ssh://) O(docker_host) with O(use_ssh_client=false))
"""
