# Reads scripts/debian-packages.txt and installs what is missing. Sourced by scripts/setup.sh and vm/build.
#   debian_packages ROLE...          prints the packages any of the roles needs, one per line, in list order
#   install_debian_packages PKG...   apt-get installs the ones not installed yet (nothing when all are)

debian_packages_list="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/debian-packages.txt"

debian_packages() {
  local wanted=" $* "
  local line name roles role
  while IFS= read -r line; do
    line=${line%%#*}
    read -r name roles _ <<<"$line" || true
    [[ -n $name ]] || continue
    if [[ -z $roles ]]; then
      echo "debian-packages.txt: $name has no role" >&2
      return 1
    fi
    for role in ${roles//,/ }; do
      if [[ $wanted == *" $role "* ]]; then
        echo "$name"
        break
      fi
    done
  done <"$debian_packages_list"
}

install_debian_packages() {
  local missing=() pkg sudo=""
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  [[ $(id -u) == 0 ]] || sudo="sudo"
  printf "%s: installing Debian packages: %s\n" "${0##*/}" "${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
