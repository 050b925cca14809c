#!/bin/sh
# Runs nginx in a mount namespace of its own with $OUTAGE_HOSTS bind-mounted
# over /etc/hosts (private propagation: the host's /etc/hosts is never
# touched), so that a test decides whether a name resolves for this nginx
# only (test_check_dns_reload.py).  Needs root (unshare -m).
exec unshare -m --propagation private sh -c \
    'mount --bind "$OUTAGE_HOSTS" /etc/hosts && exec /usr/sbin/nginx "$@"' \
    sh "$@"
