/* state.c - the CLI's record of each VM; see state.h. */
#include "../common/o2v.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "../common/fsutil.h"
#include "layout.h"
#include "state.h"

#define STATE_MAX (64 * 1024)

void o2v_vm_release(struct o2v_vm *vm)
{
	free(vm->name);
	free(vm->image);
	free(vm->ports);
	free(vm->dir);
	memset(vm, 0, sizeof(*vm));
}

char *o2v_vm_path(const struct o2v_vm *vm, enum o2v_vm_file which)
{
	return o2v_vm_file(vm->dir, which);
}

static int new_id(char id[O2V_VM_ID_LEN + 1], struct o2v_error *err)
{
	unsigned char raw[O2V_VM_ID_LEN / 2];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return o2v_error_sys(err, -errno, "generate a VM id");
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

static char *names_path(const char *runtime_dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/names/%s", runtime_dir, name) < 0)
		return NULL;
	return p;
}

/* A name link whose VM directory is gone is stale: remove it so the name is free. */
static void drop_stale_name(const char *link)
{
	struct stat st;

	if (lstat(link, &st) == 0 && stat(link, &st) < 0 && errno == ENOENT)
		unlink(link);
}

int o2v_vm_create(const char *runtime_dir, const char *name, struct o2v_vm *ret,
		  struct o2v_error *err)
{
	_cleanup_free_ char *vms = o2v_path_join(runtime_dir, "vms");
	_cleanup_free_ char *names = o2v_path_join(runtime_dir, "names");
	_cleanup_free_ char *link = NULL, *target = NULL;
	struct o2v_vm vm = {.exit_code = -1};
	int r;

	if (!vms || !names)
		return o2v_error_sys(err, -ENOMEM, "create VM state");
	if ((r = o2v_mkdir_p(vms, 0700, err)) < 0 || (r = o2v_mkdir_p(names, 0700, err)) < 0)
		return r;
	if ((r = new_id(vm.id, err)) < 0)
		return r;
	vm.name = strdup(name ? name : vm.id);
	vm.dir = o2v_path_join(vms, vm.id);
	if (!vm.name || !vm.dir) {
		o2v_vm_release(&vm);
		return o2v_error_sys(err, -ENOMEM, "create VM state");
	}
	if (mkdir(vm.dir, 0700) < 0) {
		r = o2v_error_sys(err, -errno, "create '%s'", vm.dir);
		o2v_vm_release(&vm);
		return r;
	}
	link = names_path(runtime_dir, vm.name);
	if (asprintf(&target, "../vms/%s", vm.id) < 0 || !link) {
		rmdir(vm.dir);
		o2v_vm_release(&vm);
		return o2v_error_sys(err, -ENOMEM, "create VM state");
	}
	drop_stale_name(link);
	if (symlink(target, link) < 0) {
		int e = errno;
		rmdir(vm.dir);
		if (e == EEXIST)
			r = o2v_error_set(err, -EEXIST,
					  "the name '%s' is already in use: remove that VM with "
					  "'oci2vm rm %s' or choose another --name",
					  vm.name, vm.name);
		else
			r = o2v_error_sys(err, -e, "reserve name '%s'", vm.name);
		o2v_vm_release(&vm);
		return r;
	}
	vm.created = (int64_t)time(NULL);
	*ret = vm;
	return 0;
}

static bool value_ok(const char *s)
{
	return !s || !strpbrk(s, "\n\r");
}

int o2v_vm_save(const struct o2v_vm *vm, struct o2v_error *err)
{
	_cleanup_free_ char *path = o2v_vm_path(vm, O2V_VM_STATE);
	_cleanup_free_ char *text = NULL;
	int n;

	if (!value_ok(vm->name) || !value_ok(vm->image) || !value_ok(vm->ports))
		return o2v_error_set(err, -EINVAL, "VM state values must not contain newlines");
	n = asprintf(&text,
		     "id=%s\nname=%s\nimage=%s\nports=%s\ncreated=%" PRId64 "\nfinished=%" PRId64
		     "\nqemu_pid=%d\nsupervisor_pid=%d\nexit_code=%d\nremove_on_exit=%d\n"
		     "detached=%d\nrestarts=%u\nstarted=%" PRId64 "\n",
		     vm->id, vm->name, vm->image ? vm->image : "", vm->ports ? vm->ports : "",
		     vm->created, vm->finished, (int)vm->qemu_pid, (int)vm->supervisor_pid,
		     vm->exit_code, vm->remove_on_exit, vm->detached, vm->restarts, vm->started);
	if (n < 0 || !path)
		return o2v_error_sys(err, -ENOMEM, "save VM state");
	return o2v_write_file_atomic(path, text, (size_t)n, 0600, err);
}

static int set_field(struct o2v_vm *vm, const char *key, const char *val)
{
	char **s = NULL;
	long long n = strtoll(val, NULL, 10);

	if (!strcmp(key, "name"))
		s = &vm->name;
	else if (!strcmp(key, "image"))
		s = &vm->image;
	else if (!strcmp(key, "ports"))
		s = &vm->ports;
	else if (!strcmp(key, "created"))
		vm->created = n;
	else if (!strcmp(key, "finished"))
		vm->finished = n;
	else if (!strcmp(key, "qemu_pid"))
		vm->qemu_pid = (pid_t)n;
	else if (!strcmp(key, "supervisor_pid"))
		vm->supervisor_pid = (pid_t)n;
	else if (!strcmp(key, "exit_code"))
		vm->exit_code = (int)n;
	else if (!strcmp(key, "remove_on_exit"))
		vm->remove_on_exit = n != 0;
	else if (!strcmp(key, "detached"))
		vm->detached = n != 0;
	else if (!strcmp(key, "started"))
		vm->started = n;
	else if (!strcmp(key, "restarts"))
		vm->restarts = n > 0 && n < 1000000 ? (unsigned)n : 0;
	if (s) {
		free(*s);
		if (!(*s = strdup(val)))
			return -ENOMEM;
	}
	return 0; /* unknown keys: written by a newer oci2vm, ignored */
}

static int load_dir(const char *vms_dir, const char *id, struct o2v_vm *ret, struct o2v_error *err)
{
	struct o2v_vm vm = {.exit_code = -1};
	_cleanup_free_ char *path = NULL, *text = NULL;
	int r;

	if (strlen(id) != O2V_VM_ID_LEN || strspn(id, "0123456789abcdef") != O2V_VM_ID_LEN)
		return o2v_error_set(err, -ENOENT, "no VM '%s'", id);
	memcpy(vm.id, id, O2V_VM_ID_LEN + 1);
	if (!(vm.dir = o2v_path_join(vms_dir, id)) || !(path = o2v_vm_path(&vm, O2V_VM_STATE))) {
		o2v_vm_release(&vm);
		return o2v_error_sys(err, -ENOMEM, "load VM state");
	}
	if ((r = o2v_read_file(path, STATE_MAX, &text, NULL, err)) < 0) {
		o2v_vm_release(&vm);
		return r == -ENOENT ? o2v_error_set(err, -ENOENT, "no VM '%s'", id) : r;
	}
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		if (set_field(&vm, line, eq + 1) < 0) {
			o2v_vm_release(&vm);
			return o2v_error_sys(err, -ENOMEM, "load VM state");
		}
	}
	if (!vm.name && !(vm.name = strdup(vm.id))) {
		o2v_vm_release(&vm);
		return o2v_error_sys(err, -ENOMEM, "load VM state");
	}
	*ret = vm;
	return 0;
}

int o2v_vm_list(const char *runtime_dir, struct o2v_vm **ret, size_t *ret_n, struct o2v_error *err)
{
	_cleanup_free_ char *vms = o2v_path_join(runtime_dir, "vms");
	struct o2v_vm *list = NULL;
	size_t n = 0;
	DIR *d;
	struct dirent *de;

	*ret = NULL;
	*ret_n = 0;
	if (!vms)
		return o2v_error_sys(err, -ENOMEM, "list VMs");
	if (!(d = opendir(vms)))
		return errno == ENOENT ? 0 : o2v_error_sys(err, -errno, "list '%s'", vms);
	while ((de = readdir(d))) {
		struct o2v_vm vm;
		struct o2v_error ignored;
		if (de->d_name[0] == '.')
			continue;
		/* A directory without a readable state file is a VM being created. */
		if (load_dir(vms, de->d_name, &vm, &ignored) < 0)
			continue;
		struct o2v_vm *nl = realloc(list, (n + 1) * sizeof(*nl));
		if (!nl) {
			o2v_vm_release(&vm);
			break;
		}
		list = nl;
		list[n++] = vm;
	}
	closedir(d);
	/* oldest first; insertion sort is fine for a handful of VMs */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && list[j - 1].created > list[j].created; j--) {
			struct o2v_vm t = list[j];
			list[j] = list[j - 1];
			list[j - 1] = t;
		}
	*ret = list;
	*ret_n = n;
	return 0;
}

int o2v_vm_load(const char *runtime_dir, const char *name_or_id, struct o2v_vm *ret,
		struct o2v_error *err)
{
	_cleanup_free_ char *vms = o2v_path_join(runtime_dir, "vms");
	_cleanup_free_ char *link = names_path(runtime_dir, name_or_id);
	char target[256];
	ssize_t len;
	struct o2v_vm *list;
	size_t n, match = SIZE_MAX, matches = 0;
	int r;

	if (!vms || !link)
		return o2v_error_sys(err, -ENOMEM, "find VM");
	if (!strchr(name_or_id, '/') && (len = readlink(link, target, sizeof(target) - 1)) > 0) {
		target[len] = '\0';
		const char *id = strrchr(target, '/');
		if (load_dir(vms, id ? id + 1 : target, ret, err) == 0)
			return 0;
	}
	if ((r = o2v_vm_list(runtime_dir, &list, &n, err)) < 0)
		return r;
	size_t plen = strlen(name_or_id);
	for (size_t i = 0; i < n; i++)
		if (plen > 0 && !strncmp(list[i].id, name_or_id, plen)) {
			match = i;
			matches++;
		}
	if (matches == 1) {
		*ret = list[match];
		memset(&list[match], 0, sizeof(list[match]));
	}
	for (size_t i = 0; i < n; i++)
		o2v_vm_release(&list[i]);
	free(list);
	if (matches > 1)
		return o2v_error_set(err, -EINVAL, "'%s' matches %zu VMs: give more of the id",
				     name_or_id, matches);
	if (matches == 0)
		return o2v_error_set(err, -ENOENT, "no VM named '%s': see 'oci2vm ps -a'",
				     name_or_id);
	return 0;
}

int o2v_vm_lock(const struct o2v_vm *vm, struct o2v_error *err)
{
	_cleanup_free_ char *path = o2v_vm_path(vm, O2V_VM_LOCK);
	int fd;

	if (!path)
		return o2v_error_sys(err, -ENOMEM, "lock VM");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return o2v_error_sys(err, -errno, "open '%s'", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		return o2v_error_sys(err, -e, "lock VM '%s'", vm->name);
	}
	return fd;
}

void o2v_vm_wait_stopped(const struct o2v_vm *vm)
{
	_cleanup_free_ char *path = o2v_vm_path(vm, O2V_VM_LOCK);
	_cleanup_close_ int fd = -1;

	/* The supervisor holds the lock exclusively for its whole life. */
	if (!path || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	while (flock(fd, LOCK_SH) < 0 && errno == EINTR)
		;
	flock(fd, LOCK_UN);
}

bool o2v_vm_is_running(const struct o2v_vm *vm)
{
	_cleanup_free_ char *path = o2v_vm_path(vm, O2V_VM_LOCK);
	_cleanup_close_ int fd = -1;

	if (!path || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		return errno == EWOULDBLOCK;
	flock(fd, LOCK_UN);
	return false;
}

int o2v_vm_remove(const struct o2v_vm *vm, struct o2v_error *err)
{
	_cleanup_free_ char *runtime = NULL, *link = NULL;
	char target[256];
	ssize_t len;

	if (o2v_vm_is_running(vm))
		return o2v_error_set(err, -EBUSY,
				     "VM '%s' is running: stop it first ('oci2vm stop %s')",
				     vm->name, vm->name);
	/* dir is RUNTIME/vms/ID: the runtime dir is two levels up. */
	runtime = strdup(vm->dir);
	if (!runtime)
		return o2v_error_sys(err, -ENOMEM, "remove VM");
	for (int i = 0; i < 2; i++) {
		char *slash = strrchr(runtime, '/');
		if (slash)
			*slash = '\0';
	}
	link = names_path(runtime, vm->name);
	if (link && (len = readlink(link, target, sizeof(target) - 1)) > 0) {
		target[len] = '\0';
		const char *id = strrchr(target, '/');
		if (!strcmp(id ? id + 1 : target, vm->id))
			unlink(link);
	}
	return o2v_rm_rf(vm->dir, err);
}
