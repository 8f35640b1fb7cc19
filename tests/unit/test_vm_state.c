/* test_vmstate.c - per-VM state: names, lookup, liveness by lock, removal. */
#include "../../common/o2v.h"

#include <string.h>
#include <sys/stat.h>

#include "../../common/fsutil.h"
#include "../../vm/state.h"
#include "tap.h"

int main(void)
{
	char rt[] = "/tmp/o2v-vmstate-XXXXXX";
	struct o2v_error err;
	struct o2v_vm a, b, got;
	struct o2v_vm *list;
	size_t n;

	TAP_OK(mkdtemp(rt) != NULL, "runtime dir");
	TAP_IS_INT(o2v_vm_create(rt, "web", &a, &err), 0, "create a named VM");
	a.image = strdup("docker.io/library/redis:7");
	a.ports = strdup("127.0.0.1:2229->6379/tcp");
	TAP_IS_INT(o2v_vm_save(&a, &err), 0, "save state");
	TAP_IS_INT(o2v_vm_create(rt, "web", &b, &err), -EEXIST, "a taken name is refused");
	TAP_OK(strstr(err.msg, "already in use") != NULL, "and the message says so");
	TAP_IS_INT(o2v_vm_create(rt, NULL, &b, &err), 0, "create an unnamed VM");
	TAP_IS_STR(b.name, b.id, "an unnamed VM is named by its id");
	b.created = a.created + 1;
	TAP_IS_INT(o2v_vm_save(&b, &err), 0, "save the second");

	TAP_IS_INT(o2v_vm_load(rt, "web", &got, &err), 0, "load by name");
	TAP_IS_STR(got.image, "docker.io/library/redis:7", "image round-trips");
	TAP_IS_STR(got.ports, "127.0.0.1:2229->6379/tcp", "ports round-trip");
	TAP_IS_INT(got.exit_code, -1, "exit code unknown while new");
	o2v_vm_release(&got);
	char prefix[7];
	memcpy(prefix, b.id, 6);
	prefix[6] = '\0';
	TAP_IS_INT(o2v_vm_load(rt, prefix, &got, &err), 0, "load by id prefix");
	TAP_IS_STR(got.id, b.id, "the right VM");
	o2v_vm_release(&got);
	TAP_IS_INT(o2v_vm_load(rt, "nope", &got, &err), -ENOENT, "unknown name");
	TAP_IS_INT(o2v_vm_load(rt, "../x", &got, &err), -ENOENT, "no path tricks");

	TAP_IS_INT(o2v_vm_list(rt, &list, &n, &err), 0, "list");
	TAP_IS_INT(n, 2, "two VMs");
	TAP_OK(n == 2 && !strcmp(list[0].id, a.id), "oldest first");
	for (size_t i = 0; i < n; i++)
		o2v_vm_release(&list[i]);
	free(list);

	TAP_OK(!o2v_vm_is_running(&a), "not running without a supervisor");
	int fd = o2v_vm_lock(&a, &err);
	TAP_OK(fd >= 0, "the supervisor takes the lock");
	TAP_OK(o2v_vm_is_running(&a), "running while the lock is held");
	TAP_IS_INT(o2v_vm_remove(&a, &err), -EBUSY, "a running VM cannot be removed");
	close(fd);
	TAP_OK(!o2v_vm_is_running(&a), "stopped when the lock is released");
	TAP_IS_INT(o2v_vm_remove(&a, &err), 0, "remove");
	struct stat st;
	TAP_OK(stat(a.dir, &st) < 0, "its directory is gone");
	TAP_IS_INT(o2v_vm_create(rt, "web", &got, &err), 0, "the name is free again");
	o2v_vm_release(&got);

	o2v_vm_release(&a);
	o2v_vm_release(&b);
	o2v_rm_rf(rt, NULL);
	return tap_done();
}
