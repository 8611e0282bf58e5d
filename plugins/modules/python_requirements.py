#!/usr/bin/python
# Copyright: contributors to nodeops.chainlink
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 -- the imports follow DOCUMENTATION, EXAMPLES and RETURN (house style 6.3)

from __future__ import annotations

DOCUMENTATION = r"""
module: python_requirements
short_description: Check that a host's Python can run the collection's modules there
version_added: 0.1.0
description:
  - Reports the Python that Ansible runs modules with on the host (C(ansible_python_interpreter)), whether it is at
    least O(min_version), and which of the O(libraries) it cannot import, each with the Debian/Ubuntu package that
    provides it. A preflight reads the RV(problems) and refuses to go on, naming the package to install.
  - V(requests) is what community.docker's modules import on a Docker host (C(docker_container), C(docker_image_info),
    and this collection's C(log_wait)); Debian/Ubuntu package C(python3-requests).
  - V(psycopg2) is what C(lock_info), C(lock_observer) and community.postgresql import on the host that runs the
    database checks (C(chainlink_database_check_host)); Debian/Ubuntu package C(python3-psycopg2).
  - It never fails for a missing requirement (that is its result); it keeps to syntax the oldest Python that
    ansible-core runs modules with (3.8) understands, so that it can name an interpreter that is too old.
extends_documentation_fragment:
  - nodeops.chainlink._attributes
  - nodeops.chainlink._attributes.info_module
  - nodeops.chainlink._attributes.idempotent_not_modify_state
options:
  libraries:
    description:
      - The Python libraries the host's modules need.
    type: list
    elements: str
    choices: [requests, psycopg2]
    default: [requests]
  min_version:
    description:
      - The oldest Python (C(MAJOR.MINOR)) the collection's modules run on; the roles declare Debian bookworm (3.11) and
        Ubuntu jammy (3.10) and noble (3.12).
    type: str
    default: "3.10"
seealso:
  - module: nodeops.chainlink.lock_info
author:
  - nodeops.chainlink maintainers (@nodeops)
"""

EXAMPLES = r"""
---
- name: Check the Docker host's Python
  nodeops.chainlink.python_requirements:
    libraries: [requests]
  delegate_to: docker-a
  register: docker_a_python

- name: Refuse a Docker host that cannot run the modules
  ansible.builtin.assert:
    that: docker_a_python.problems | length == 0
    fail_msg: "Docker host docker-a: {{ docker_a_python.problems | join(' | ') }}"
"""

RETURN = r"""
python:
  description: The interpreter the module ran with.
  returned: always
  type: dict
  contains:
    executable:
      description: Its path.
      type: str
      sample: /usr/bin/python3
    version:
      description: Its version.
      type: str
      sample: 3.11.2
missing:
  description: The libraries it cannot import, with the Debian/Ubuntu package that provides each and the import error.
  returned: always
  type: list
  elements: dict
  sample: [{library: requests, package: python3-requests, error: "No module named 'requests'"}]
problems:
  description: One sentence per unmet requirement, naming the fix; empty when the host's Python has everything.
  returned: always
  type: list
  elements: str
  sample:
    - "its Python /usr/bin/python3 (3.11.2) cannot import requests, which community.docker's modules need: install the
      Debian/Ubuntu package python3-requests there (apt-get install python3-requests), or set ansible_python_interpreter
      to a Python that has it"
"""

import importlib
import sys
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nodeops.chainlink.plugins.module_utils._requirements import MIN_PYTHON, REQUIREMENTS


def missing_libraries(libraries: t.Sequence[str]) -> list[dict[str, str]]:
    """The libraries this Python cannot import, each with its package and the import error."""
    missing = []
    for library in libraries:
        try:
            importlib.import_module(library)
        except Exception as exc:  # an ImportError, or a library that is present but broken: either way unusable
            missing.append({"library": library, "package": REQUIREMENTS[library][0], "error": f"{type(exc).__name__}: {exc}"})
    return missing


def problems(executable: str, version: t.Sequence[int], min_version: str, missing: t.Sequence[t.Mapping[str, str]]) -> list[str]:
    """Each unmet requirement as a sentence with its fix."""
    shown = ".".join(str(part) for part in version[:3])
    out = []
    wanted = tuple(int(part) for part in min_version.split("."))
    if tuple(version[: len(wanted)]) < wanted:
        out.append(
            f"its Python {executable} is {shown}, older than {min_version}, the oldest the collection's modules run on: set"
            f" ansible_python_interpreter to a Python {min_version} or later (Debian bookworm and Ubuntu jammy ship one as /usr/bin/python3)"
        )
    for item in missing:
        out.append(
            f"its Python {executable} ({shown}) cannot import {item['library']}, which {REQUIREMENTS[item['library']][1]} need:"
            f" install the Debian/Ubuntu package {item['package']} there (apt-get install {item['package']}), or set"
            f" ansible_python_interpreter to a Python that has it"
        )
    return out


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "libraries": {"type": "list", "elements": "str", "choices": sorted(REQUIREMENTS), "default": ["requests"]},
            "min_version": {"type": "str", "default": MIN_PYTHON},
        },
        supports_check_mode=True,
    )
    min_version = module.params["min_version"]
    if not all(part.isdigit() for part in min_version.split(".")):
        module.fail_json(msg=f"min_version '{min_version}' is not a Python version such as 3.10")
    missing = missing_libraries(module.params["libraries"])
    module.exit_json(
        changed=False,
        python={"executable": sys.executable, "version": ".".join(str(part) for part in sys.version_info[:3])},
        missing=missing,
        problems=problems(sys.executable, sys.version_info[:3], min_version, missing),
    )


if __name__ == "__main__":
    main()
