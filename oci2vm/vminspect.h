/* vminspect.h - a container's record as docker inspect shows one (vminspect.c). */
#ifndef O2V_VMINSPECT_H
#define O2V_VMINSPECT_H

#include <json-c/json.h>

#include "../vm/state.h"

json_object *o2v_vm_inspect_json(struct o2v_vm *vm);

#endif
