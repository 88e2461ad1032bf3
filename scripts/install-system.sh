#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo need (list: tooling/testbed/system-packages.txt).
# Services are kept from starting during the install (policy-rc.d exit 101) and, on a systemd
# host, the ones that would bind ports or firewall this machine are stopped and masked afterwards.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
list="$root/tooling/testbed/system-packages.txt"
mapfile -t wanted < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$list" | grep -v '^$')
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all ${#wanted[@]} present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system packages missing (${missing[*]}); run as root to install them" >&2
  exit 1
fi
echo "system packages: installing ${#missing[@]}: ${missing[*]}"
created_policy=no
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  created_policy=yes
fi
echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
if [ -d /run/systemd/system ]; then
  # firewalld would firewall this machine; packaged daemons would hold the ports the testbed uses.
  systemctl mask --now firewalld 2>/dev/null || true
  for unit in named bind9 samba-ad-dc smbd nmbd winbind kea-dhcp4-server isc-dhcp-server \
    postfix dovecot apache2 openvpn rspamd clamav-daemon clamav-freshclam cups cups-browsed \
    nfs-ganesha nginx; do
    systemctl disable --now "$unit" 2>/dev/null || true
  done
fi
[ "$created_policy" = yes ] && rm -f /usr/sbin/policy-rc.d
echo "system packages: done"
