#!/usr/bin/env bash
# tests/compat/t_compat_runtime.sh - the differential suite once more, with podman driving
# oci2vm-runtime as the second side (see t_compat.sh, O2V_COMPAT_RUNTIME).
export O2V_COMPAT_RUNTIME=1
exec bash "$(dirname "$0")/t_compat.sh" "$@"
