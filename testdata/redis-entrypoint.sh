#!/bin/sh
# docker-entrypoint.sh of the oci2vm redis test image (testdata/redis-image.sh), modelled on the
# official redis image: started as root with `redis-server`, it hands /data to the redis user
# and re-executes itself as that user, the way real images drop privileges.
set -e

# `docker run IMAGE --port 1234` or `... /etc/redis.conf`: the arguments are for redis-server
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
	set -- redis-server "$@"
fi

if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
	find . \! -user redis -exec chown redis '{}' +
	exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

# without a config file redis starts in protected mode and refuses clients that are not on
# loopback, which port forwarding into a VM never is
if [ "$1" = redis-server ]; then
	protected=yes
	case "${2:-}" in
	*.conf) grep -q '^protected-mode' "$2" 2>/dev/null && protected=keep ;;
	esac
	[ "$protected" = yes ] && set -- "$@" --protected-mode no
fi

um=$(umask)
[ "$um" = 0022 ] && umask 0077
exec "$@"
