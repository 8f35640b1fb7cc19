/* test_rootfs_tree.c - the merged tree: path rules, chroot-style resolution,
 * whiteout order independence, hardlink reference counting. */
#include "../../common/o2v.h"

#include <string.h>
#include <sys/stat.h>

#include "../../rootfs/tree.h"
#include "tap.h"

static struct o2v_error err;

static int add(struct o2v_tree *t, const char *path, uint32_t mode, const char *target,
	       uint32_t layer)
{
	struct o2v_entry e = {.mode = mode, .target = target, .mtime = 1};
	struct o2v_path p;
	int r = o2v_tree_split_path(path, &p, &err);

	if (r == 0)
		r = o2v_tree_add(t, &p, &e, layer, &err);
	o2v_path_release(&p);
	return r;
}

static int wh(struct o2v_tree *t, const char *dir, const char *name, uint32_t layer)
{
	struct o2v_path p = {0};
	int r = *dir ? o2v_tree_split_path(dir, &p, &err) : 0;

	if (r == 0)
		r = o2v_tree_whiteout(t, &p, name, layer, &err);
	o2v_path_release(&p);
	return r;
}

static int link_(struct o2v_tree *t, const char *path, const char *target, uint32_t layer)
{
	struct o2v_path p, tp;
	int r = o2v_tree_split_path(path, &p, &err);

	if (r < 0)
		return r;
	r = o2v_tree_split_path(target, &tp, &err);
	if (r == 0)
		r = o2v_tree_link(t, &p, &tp, layer, &err);
	o2v_path_release(&tp);
	o2v_path_release(&p);
	return r;
}

static void test_split(void)
{
	struct o2v_path p;
	char longname[300];

	TAP_IS_INT(o2v_tree_split_path("/./a//b/./c/", &p, &err), 0, "split a messy path");
	TAP_OK(p.n == 3 && !strcmp(p.comp[0], "a") && !strcmp(p.comp[2], "c"),
	       "'/./a//b/./c/' -> a b c");
	o2v_path_release(&p);
	TAP_IS_INT(o2v_tree_split_path("./", &p, &err), 0, "'./' is the root");
	TAP_IS_INT(p.n, 0, "root has no components");
	o2v_path_release(&p);
	TAP_IS_INT(o2v_tree_split_path("a/../b", &p, &err), -EINVAL, "'..' is rejected");
	TAP_IS_INT(o2v_tree_split_path("", &p, &err), -EINVAL, "empty is rejected");
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	TAP_IS_INT(o2v_tree_split_path(longname, &p, &err), -EINVAL,
		   "a component over 255 bytes is rejected");
}

static void test_resolution(void)
{
	struct o2v_tree t;

	o2v_tree_init(&t, 0, &err);
	add(&t, "etc", S_IFDIR | 0755, NULL, 1);
	add(&t, "up", S_IFLNK | 0777, "../../../..", 1);
	add(&t, "root", S_IFLNK | 0777, "/", 1);
	add(&t, "rel", S_IFLNK | 0777, "etc/../etc", 1);
	TAP_IS_INT(add(&t, "up/etc/a", S_IFREG | 0644, NULL, 1), 0, "write through '..'-link");
	TAP_IS_INT(add(&t, "root/etc/b", S_IFREG | 0644, NULL, 1), 0, "write through '/'-link");
	TAP_IS_INT(add(&t, "rel/c", S_IFREG | 0644, NULL, 1), 0, "write through relative link");
	TAP_OK(o2v_tree_lookup(&t, "etc/a") && o2v_tree_lookup(&t, "etc/b") &&
		   o2v_tree_lookup(&t, "etc/c"),
	       "all three land in the image's /etc ('..' clamped at the root)");
	add(&t, "loop1", S_IFLNK | 0777, "loop2", 1);
	add(&t, "loop2", S_IFLNK | 0777, "loop1", 1);
	TAP_IS_INT(add(&t, "loop1/x", S_IFREG | 0644, NULL, 1), -EINVAL,
		   "symlink loop is an error");
	TAP_OK(strstr(err.msg, "symbolic links") != NULL, "loop message: %s", err.msg);
	TAP_IS_INT(add(&t, "etc/a/deeper", S_IFREG | 0644, NULL, 1), 0,
		   "a file parent is replaced by a directory");
	TAP_OK(S_ISDIR(o2v_tree_lookup(&t, "etc/a")->mode), "etc/a is now a directory");
	o2v_tree_release(&t);
}

static void test_whiteout_order(void)
{
	struct o2v_tree a, b;

	/* layer 1: d/old; layer 2: ".wh.d" and "d/new" in both orders */
	o2v_tree_init(&a, 0, &err);
	o2v_tree_init(&b, 0, &err);
	add(&a, "d/old", S_IFREG | 0644, NULL, 1);
	add(&b, "d/old", S_IFREG | 0644, NULL, 1);
	wh(&a, "", "d", 2);
	add(&a, "d/new", S_IFREG | 0644, NULL, 2);
	add(&b, "d/new", S_IFREG | 0644, NULL, 2);
	wh(&b, "", "d", 2);
	TAP_OK(!o2v_tree_lookup(&a, "d/old") && o2v_tree_lookup(&a, "d/new"),
	       "whiteout first: lower child gone, new child kept");
	TAP_OK(!o2v_tree_lookup(&b, "d/old") && o2v_tree_lookup(&b, "d/new"),
	       "whiteout last: the same result");
	TAP_IS_INT(o2v_tree_lookup(&b, "d")->mode, S_IFDIR | 0755,
		   "implicitly walked dir is reset like a fresh parent");
	add(&a, "same", S_IFREG | 0644, NULL, 3);
	wh(&a, "", "same", 3);
	TAP_OK(o2v_tree_lookup(&a, "same") != NULL, "a whiteout never hides its own layer");
	wh(&a, "", "same", 4);
	TAP_OK(o2v_tree_lookup(&a, "same") == NULL, "but hides it from the next layer");
	o2v_tree_release(&a);
	o2v_tree_release(&b);
}

static void test_hardlinks(void)
{
	struct o2v_tree t;
	struct o2v_node *n;

	o2v_tree_init(&t, 0, &err);
	add(&t, "f", S_IFREG | 0644, NULL, 1);
	TAP_IS_INT(link_(&t, "g", "f", 2), 0, "hardlink to a lower layer file");
	n = o2v_tree_lookup(&t, "f");
	TAP_OK(n == o2v_tree_lookup(&t, "g") && n->refs == 2, "one node, two names");
	add(&t, "f", S_IFREG | 0600, NULL, 3);
	TAP_OK(o2v_tree_lookup(&t, "g")->refs == 1 && o2v_tree_lookup(&t, "f") != n,
	       "replacing one name breaks the pair");
	TAP_IS_INT(link_(&t, "h", "nope", 3), -ENOENT, "missing target is an error");
	add(&t, "dir", S_IFDIR | 0755, NULL, 3);
	TAP_IS_INT(link_(&t, "h", "dir", 3), -EINVAL, "directory target is an error");
	add(&t, "s", S_IFLNK | 0777, "f", 3);
	TAP_IS_INT(link_(&t, "hs", "s", 3), 0, "hardlink to a symlink");
	TAP_OK(S_ISLNK(o2v_tree_lookup(&t, "hs")->mode),
	       "... is the symlink inode, not its target");
	o2v_tree_release(&t);
	TAP_IS_INT(t.n_nodes, 0, "every node is freed");
}

int main(void)
{
	test_split();
	test_resolution();
	test_whiteout_order();
	test_hardlinks();
	return tap_done();
}
