#!/bin/bash
# mmdebstrap's customize hook for the WEFT OS image (vm/build.ts): $1 is the new root file system, after every
# package is installed. Adds the user, the autologin, the shares and the boot-time setup (docs/vm.md).
set -euo pipefail
root=$1
here=$(cd "$(dirname "$0")" && pwd)

# The files of vm/guest/rootfs, owned by root like the rest of the system.
cp -r --no-preserve=ownership "$here/rootfs/." "$root/"

# One normal user. Root is locked: nobody logs in as root; the host's control channel runs as root.
chroot "$root" useradd --create-home --uid 1000 --shell /bin/bash --groups video,render,input weft
chroot "$root" passwd --quiet --lock root
echo weft >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tweft\n' >"$root/etc/hosts"

# The root file system, and WEFT's checkout and Wasmtime library, shared read-only by vm/run over 9p.
mkdir -p "$root/opt/weft" "$root/opt/weft-wasmtime"
cat >"$root/etc/fstab" <<'FSTAB'
/dev/vda       /                   ext4  rw,errors=remount-ro                                      0 1
weft           /opt/weft           9p    trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000  0 0
weft-wasmtime  /opt/weft-wasmtime  9p    trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000  0 0
FSTAB

# The system app store is the checkout's signed demo packages (weft-vm-setup trusts their key).
mkdir -p "$root/usr/share/weft" "$root/etc/weft/trusted.d"
ln -s /opt/weft/apps/dist "$root/usr/share/weft/apps"

systemctl --root="$root" enable weft-vm-setup.service >/dev/null 2>&1
