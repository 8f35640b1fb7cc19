/* container.c - a container's writable layer and saved command line; see container.h. */
#include "../common/o2v.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../common/fsutil.h"
#include "../common/strv.h"
#include "../vm/spawn.h"
#include "container.h"

#define QEMU_IMG   "qemu-img"
#define ARGS_MAX   (1024 * 1024)
#define BASE_NAME  "base.ext4"
#define LAYER_NAME "disk.qcow2"

static char *container_dir(const char *cache_dir, const char *id)
{
	char *p;

	return asprintf(&p, "%s/containers/%s", cache_dir, id) < 0 ? NULL : p;
}

/* qemu-img create -f qcow2 -F raw -b base.ext4 disk.qcow2, in dir: the backing file is
 * named relative to the layer, so the pair can move together. */
static int make_layer(const char *dir, struct o2v_error *err)
{
	_cleanup_free_ char *log = o2v_path_join(dir, "qemu-img.log");
	char *argv[] = {(char *)QEMU_IMG,  (char *)"create",   (char *)"-q",  (char *)"-f",
			(char *)"qcow2",   (char *)"-F",       (char *)"raw", (char *)"-b",
			(char *)BASE_NAME, (char *)LAYER_NAME, NULL};
	_cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct o2v_spawn sp = {.argv = argv, .log_path = log};
	int status = 0;
	pid_t pid;

	if (!log)
		return o2v_error_sys(err, -ENOMEM, "create the container's layer");
	if (chdir(dir) < 0)
		return o2v_error_sys(err, -errno, "enter '%s'", dir);
	pid = o2v_spawn(&sp, err);
	if (cwd >= 0 && fchdir(cwd) < 0)
		return o2v_error_sys(err, -errno, "return from '%s'", dir);
	if (pid < 0)
		return pid;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return o2v_error_set(err, -ENOENT,
				     "'" QEMU_IMG "' not found: install Debian's qemu-utils (a "
				     "container's writes are kept in a qcow2 layer; 'run --rm' "
				     "needs none)");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return o2v_error_set(err, -EIO, QEMU_IMG " failed to create the layer (see '%s')",
				     log);
	unlink(log);
	/* What the container writes is its own: private, as the image cache is. */
	_cleanup_free_ char *layer = o2v_path_join(dir, LAYER_NAME);
	if (!layer || chmod(layer, 0600) < 0)
		return o2v_error_sys(err, -ENOMEM, "protect the layer");
	return 0;
}

int o2v_container_disk(const char *cache_dir, const char *id, const char *vmimage, bool create,
		       char **ret_path, struct o2v_error *err)
{
	_cleanup_free_ char *dir = container_dir(cache_dir, id), *parent = NULL, *base = NULL;
	_cleanup_free_ char *layer = NULL;
	struct stat st;
	int r;

	if (!dir || !(parent = o2v_path_join(cache_dir, "containers")) ||
	    !(base = o2v_path_join(dir, BASE_NAME)) || !(layer = o2v_path_join(dir, LAYER_NAME)))
		return o2v_error_sys(err, -ENOMEM, "the container's layer");
	if (!create) {
		if (stat(layer, &st) < 0)
			return o2v_error_sys(err, -errno, "the container's layer '%s'", layer);
		*ret_path = TAKE_PTR(layer);
		return 0;
	}
	if ((mkdir(parent, 0700) < 0 && errno != EEXIST) || mkdir(dir, 0700) < 0)
		return o2v_error_sys(err, -errno, "create '%s'", dir);
	/* A link, so the image stays while the container does; a copy across file systems
	 * would cost the whole image, so then the cached file itself is the base. */
	if (link(vmimage, base) < 0 && symlink(vmimage, base) < 0)
		r = o2v_error_sys(err, -errno, "link the image into '%s'", dir);
	else
		r = make_layer(dir, err);
	if (r < 0) {
		o2v_rm_rf(dir, NULL);
		return r;
	}
	*ret_path = TAKE_PTR(layer);
	return 0;
}

void o2v_container_disk_remove(const char *cache_dir, const char *id)
{
	_cleanup_free_ char *dir = cache_dir ? container_dir(cache_dir, id) : NULL;

	if (dir)
		o2v_rm_rf(dir, NULL);
}

int o2v_container_args_save(const struct o2v_vm *vm, int argc, char **argv, struct o2v_error *err)
{
	_cleanup_free_ char *path = o2v_vm_path(vm, O2V_VM_RUNARGS);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int r;

	if (!path || !f) {
		if (f)
			fclose(f);
		return o2v_error_sys(err, -ENOMEM, "save the run arguments");
	}
	for (int i = 0; i < argc; i++) {
		fputs(argv[i], f);
		fputc('\0', f);
	}
	if (fclose(f) != 0) {
		free(buf);
		return o2v_error_sys(err, -ENOMEM, "save the run arguments");
	}
	r = o2v_write_file_atomic(path, buf, len, 0600, err);
	free(buf);
	return r;
}

int o2v_container_args_load(const struct o2v_vm *vm, char ***ret_argv, int *ret_argc,
			    struct o2v_error *err)
{
	_cleanup_free_ char *path = o2v_vm_path(vm, O2V_VM_RUNARGS), *text = NULL;
	_cleanup_strv_ char **argv = NULL;
	size_t len, n = 0;
	int r;

	if (!path)
		return o2v_error_sys(err, -ENOMEM, "load the run arguments");
	if ((r = o2v_read_file(path, ARGS_MAX, &text, &len, err)) < 0)
		return r;
	if (len == 0 || text[len - 1] != '\0')
		return o2v_error_set(err, -EBADMSG, "'%s' is damaged", path);
	for (size_t off = 0; off < len; off += strlen(text + off) + 1, n++)
		if (o2v_strv_push(&argv, text + off) < 0)
			return o2v_error_sys(err, -ENOMEM, "load the run arguments");
	*ret_argc = (int)n;
	*ret_argv = TAKE_PTR(argv);
	return 0;
}
