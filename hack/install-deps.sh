#!/usr/bin/env bash
# Installs every build and test dependency of qoslet on Debian 12. Idempotent: packages that
# are already installed are not fetched again.
set -euo pipefail

pkgs=(
        # build
        gcc make pkg-config libyaml-dev libjansson-dev libcurl4-openssl-dev libsystemd-dev
        libssl-dev libarchive-dev libseccomp-dev libcap-dev libmicrohttpd-dev
        # tests, sanitizers, fuzzing, format check
        libcriterion-dev clang libclang-rt-14-dev clang-format jq
        # cgroup v2 VM: qemu, a stock kernel, an initramfs from busybox
        qemu-system-x86 busybox-static cpio kmod
        # image and registry peers
        skopeo umoci docker-registry apache2-utils python3 python3-yaml openssl
)

missing=()
for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
                missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
        exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps: missing packages: ${missing[*]}; run as root" >&2
        exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
