#!/usr/bin/env bash
# The Debian packages of the multi-voice demo recipe (tools/demo/README.md, "Many voices"), run
# as root: espeak-ng, flite and festival voices from main; MBROLA diphone voices (non-free
# mbrola-*, contrib festvox-us1/us2/us3/en1), RHVoice's English voices (non-free
# rhvoice-english) and SVOX pico (non-free libttspico-utils) need the contrib and non-free
# components, which this adds as /etc/apt/sources.list.d/contrib.sources (bookworm).
# The test suite needs none of the contrib/non-free packages (.ci/run does not install them).
#   sudo bash tools/demo/install_voices.sh
set -euo pipefail
SOURCES=/etc/apt/sources.list.d/contrib.sources
if [ ! -f "$SOURCES" ]; then
  cat > "$SOURCES" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: contrib non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
apt-get update
apt-get -o DPkg::Lock::Timeout=600 install -y \
  espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts \
  mbrola mbrola-us1 mbrola-us2 mbrola-us3 mbrola-en1 festvox-us1 festvox-us2 festvox-us3 \
  festvox-en1 rhvoice rhvoice-english libttspico-utils \
  bible-kjv sox pocketsphinx-testdata alsa-utils
