# Debian packages an office box needs, and the apt plumbing of the offline bundle.
# Sourced by scripts/bundle.sh and scripts/setup.sh (--offline).

# What the daemons use at run time, the Python to run them, and the compiler for the few
# dependencies PyPI ships only as source (evdev) on a box without Internet.
OFFICE_DEBS=(mosquitto mosquitto-clients espeak-ng libzbar0 fonts-dejavu-core sox ffmpeg
             libusb-1.0-0 python3 python3-venv python3-dev gcc libc6-dev)
# Extras of the project installed on an office box.
OFFLINE_EXTRAS=(reports)

# _apt_private DIR ARCH: apt options for a private state (lists, status, cache) in DIR, so
# resolving and downloading for ARCH neither reads nor changes this machine's own apt state.
_apt_private() {
  local dir=$1 arch=$2
  mkdir -p "$dir"/lists/partial "$dir"/archives/partial "$dir"/parts "$dir"/prefs
  [ -f "$dir/status" ] || : >"$dir/status"
  APT_OPTS=(-o "Dir::State=$dir" -o "Dir::State::Lists=$dir/lists" -o "Dir::State::status=$dir/status"
            -o "Dir::Cache=$dir" -o "Dir::Cache::archives=$dir/archives"
            -o "Dir::Etc::Parts=$dir/parts" -o "Dir::Etc::PreferencesParts=$dir/prefs"
            -o "APT::Architecture=$arch" -o "APT::Architectures::=$arch"
            -o "APT::Install-Recommends=false" -o "Debug::NoLocking=1")
}

# bundle_debs ARCH OUTDIR WORKDIR: download OFFICE_DEBS and every dependency for ARCH (as on an
# empty system, so nothing the box might lack is left out) into OUTDIR, with a Packages index.
bundle_debs() {
  local arch=$1 out=$2 work=$3
  _apt_private "$work" "$arch"
  apt-get "${APT_OPTS[@]}" -qq update
  DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" -qq -y --download-only install "${OFFICE_DEBS[@]}" >/dev/null
  mkdir -p "$out"
  mv "$work"/archives/*.deb "$out/"
  (cd "$out" && dpkg-scanpackages --multiversion . /dev/null 2>/dev/null | gzip -9 >Packages.gz)
}

# install_offline_debs DIR: install OFFICE_DEBS from the bundle's repository for this box's
# architecture, with no network: only that local repository is an apt source for this run.
install_offline_debs() {
  local repo=$1/debs/$(dpkg --print-architecture) work
  if [ ! -f "$repo/Packages.gz" ]; then
    echo "setup: the bundle has no Debian packages for $(dpkg --print-architecture)" >&2
    return 1
  fi
  work=$(mktemp -d)
  echo "deb [trusted=yes] file:$repo ./" >"$work/sources.list"
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
  # Own lists and package cache too: a stale pkgcache.bin would bring back the mirror's entries.
  local opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
              -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache"
              -o "APT::Install-Recommends=false")
  apt-get "${opts[@]}" -qq update
  DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" -qq -y install "${OFFICE_DEBS[@]}" >/dev/null
  rm -rf "$work"
}
