#!/usr/bin/env bash
# Prepare this machine (as root) for the JupyterHub end-to-end test, idempotently:
#   - the hub's environment in /opt/emcourse-hub, built from Debian's Python 3.11:
#     learners' servers run as alice and bob, who cannot execute a Python that
#     lives in root's home (pyenv, the repository's .venv);
#   - the course installed into it (not editable), with jupyterhub, nbgitpuller;
#   - two real system users, alice and bob, with private homes, and an instructor,
#     carol (group emcourse-instructors), who reads the records learners hand in.
# The proxy is configurable-http-proxy from npm (tools/vendor, `npm ci`).
set -euo pipefail
cd "$(dirname "$0")/../.."
HUB_ENV=${HUB_ENV:-/opt/emcourse-hub}
if [ "$(id -u)" != 0 ]; then echo "run as root" >&2; exit 1; fi
if ! [ -x /usr/bin/python3.11 ] || ! /usr/bin/python3.11 -c 'import ensurepip' 2>/dev/null; then
  apt-get install -y -q python3.11-venv git >/dev/null
fi
if ! [ -x "$HUB_ENV/bin/jupyterhub" ]; then
  /usr/bin/python3.11 -m venv "$HUB_ENV"
  "$HUB_ENV/bin/pip" install --quiet --upgrade pip
fi
# the course as learners get it, plus the hub and nbgitpuller (every run: the course changes)
"$HUB_ENV/bin/pip" install --quiet "jupyterhub>=5,<7" "nbgitpuller>=1.2" .
chmod -R a+rX "$HUB_ENV"
npm ci --prefix tools/vendor --no-audit --no-fund --silent
for user in alice bob; do
  id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
  chmod 700 "/home/$user"
done
# the instructor, who alone reads the drop folder of handed-in progress records
getent group emcourse-instructors >/dev/null || groupadd emcourse-instructors
id carol >/dev/null 2>&1 || useradd --create-home --shell /bin/bash -G emcourse-instructors carol
chmod 700 /home/carol
echo "hub environment: $HUB_ENV ($("$HUB_ENV/bin/jupyterhub" --version)); users: alice, bob; instructor: carol"
