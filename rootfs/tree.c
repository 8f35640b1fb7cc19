/* tree.c - the merged tree and the OCI changeset operations on it (see tree.h).
 *
 * Whiteouts are order-independent within a layer and apply only to lower
 * layers (image-spec layer.md; umoci semantics). Each dentry carries the last
 * layer that created it or walked through it (as a parent of one of that
 * layer's entries). A whiteout or opaque marker of layer L therefore removes
 * exactly the dentries with layer < L, and descends into directories that L
 * touched to prune their lower-layer children. When ".wh.x" comes after
 * "x/new" in the tar, x was only walked through (not explicit) and is reset to
 * what "x/new" alone would have produced after the whiteout: a fresh 0755
 * root-owned directory. So both orders give the same tree.
 */
#include "../common/o2v.h"

#include <string.h>
#include <sys/stat.h>

#include "tree.h"

void o2v_xattrs_free(struct o2v_xattr *x, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(x[i].name);
		free(x[i].value);
	}
	free(x);
}

static void node_set_attrs(struct o2v_node *n, struct o2v_entry *e)
{
	n->mode = (n->mode & S_IFMT) | (e->mode & 07777);
	n->uid = e->uid;
	n->gid = e->gid;
	n->mtime = e->mtime;
	n->mtime_nsec = e->mtime_nsec;
	o2v_xattrs_free(n->xattrs, n->n_xattrs);
	n->xattrs = TAKE_PTR(e->xattrs);
	n->n_xattrs = e->n_xattrs;
	e->n_xattrs = 0;
}

struct o2v_node *o2v_node_new(struct o2v_tree *t, struct o2v_entry *e)
{
	struct o2v_node *n;

	if (t->n_nodes >= O2V_TREE_NODES_MAX) {
		errno = E2BIG;
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	if (e->target) {
		n->target = strdup(e->target);
		if (!n->target) {
			free(n);
			return NULL;
		}
	}
	n->mode = e->mode;
	n->rdev_major = e->rdev_major;
	n->rdev_minor = e->rdev_minor;
	n->size = e->size;
	n->spool_off = e->spool_off;
	node_set_attrs(n, e);
	t->n_nodes++;
	return n;
}

static void node_free(struct o2v_tree *t, struct o2v_node *n)
{
	for (size_t i = 0; i < n->n_children; i++) {
		free(n->children[i].name);
		o2v_node_unref(t, n->children[i].node);
	}
	free(n->children);
	free(n->target);
	o2v_xattrs_free(n->xattrs, n->n_xattrs);
	free(n);
	t->n_nodes--;
}

void o2v_node_unref(struct o2v_tree *t, struct o2v_node *n)
{
	if (n && --n->refs == 0)
		node_free(t, n);
}

static struct o2v_node *implicit_dir(struct o2v_tree *t, struct o2v_node *parent)
{
	struct o2v_entry e = {.mode = S_IFDIR | 0755, .mtime = t->implicit_mtime};
	struct o2v_node *n = o2v_node_new(t, &e);

	if (n)
		n->parent = parent ? parent : n;
	return n;
}

int o2v_tree_init(struct o2v_tree *t, int64_t implicit_mtime, struct o2v_error *err)
{
	memset(t, 0, sizeof(*t));
	t->implicit_mtime = implicit_mtime;
	t->root = implicit_dir(t, NULL);
	if (!t->root)
		return o2v_error_sys(err, -ENOMEM, "create file tree");
	t->root->refs = 1;
	return 0;
}

void o2v_tree_release(struct o2v_tree *t)
{
	o2v_node_unref(t, TAKE_PTR(t->root));
}

/* Binary search; returns the dentry or NULL and the insertion index. */
static struct o2v_dentry *dir_find(struct o2v_node *dir, const char *name, size_t *ret_idx)
{
	size_t lo = 0, hi = dir->n_children;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, dir->children[mid].name);
		if (c == 0) {
			if (ret_idx)
				*ret_idx = mid;
			return &dir->children[mid];
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (ret_idx)
		*ret_idx = lo;
	return NULL;
}

/* Insert name -> node at idx; takes a reference on node. */
static int dir_insert(struct o2v_node *dir, size_t idx, const char *name, struct o2v_node *node,
		      uint32_t layer, bool explicit_)
{
	char *copy = strdup(name);

	if (!copy)
		return -ENOMEM;
	if (dir->n_children == dir->cap_children) {
		size_t cap = dir->cap_children ? dir->cap_children * 2 : 4;
		struct o2v_dentry *c = realloc(dir->children, cap * sizeof(*c));
		if (!c) {
			free(copy);
			return -ENOMEM;
		}
		dir->children = c;
		dir->cap_children = cap;
	}
	memmove(&dir->children[idx + 1], &dir->children[idx],
		(dir->n_children - idx) * sizeof(*dir->children));
	dir->children[idx] = (struct o2v_dentry){copy, node, layer, explicit_};
	dir->n_children++;
	node->refs++;
	if (S_ISDIR(node->mode))
		node->parent = dir;
	return 0;
}

static void dir_remove(struct o2v_tree *t, struct o2v_node *dir, size_t idx)
{
	struct o2v_dentry d = dir->children[idx];

	memmove(&dir->children[idx], &dir->children[idx + 1],
		(dir->n_children - idx - 1) * sizeof(*dir->children));
	dir->n_children--;
	free(d.name);
	o2v_node_unref(t, d.node);
}

/* Point an existing dentry at another node (which must already hold the
 * reference the dentry will own). */
static void dentry_replace(struct o2v_tree *t, struct o2v_node *dir, struct o2v_dentry *d,
			   struct o2v_node *node)
{
	struct o2v_node *old = d->node;

	d->node = node;
	if (S_ISDIR(node->mode))
		node->parent = dir;
	o2v_node_unref(t, old);
}

void o2v_path_release(struct o2v_path *p)
{
	free(p->buf);
	free(p->comp);
	p->buf = NULL;
	p->comp = NULL;
	p->n = 0;
}

int o2v_tree_split_path(const char *name, struct o2v_path *ret, struct o2v_error *err)
{
	size_t len = strlen(name), n = 0;
	struct o2v_path p = {0};

	if (len == 0)
		return o2v_error_set(err, -EINVAL, "empty path");
	if (len > O2V_TREE_PATH_MAX)
		return o2v_error_set(err, -EINVAL, "path longer than %d bytes", O2V_TREE_PATH_MAX);
	p.buf = strdup(name);
	p.comp = calloc(len / 2 + 2, sizeof(*p.comp));
	if (!p.buf || !p.comp) {
		o2v_path_release(&p);
		return o2v_error_sys(err, -ENOMEM, "split path");
	}
	for (char *save = NULL, *c = strtok_r(p.buf, "/", &save); c;
	     c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			o2v_path_release(&p);
			return o2v_error_set(err, -EINVAL,
					     "path contains a '..' component (path traversal)");
		}
		if (strlen(c) > O2V_TREE_NAME_MAX) {
			o2v_path_release(&p);
			return o2v_error_set(err, -EINVAL, "path component longer than %d bytes",
					     O2V_TREE_NAME_MAX);
		}
		p.comp[n++] = c;
	}
	p.n = n;
	*ret = p;
	return 0;
}

/* Resolve the directory comp[0..n) chroot-style from the root. With create,
 * missing directories are made (0755, root), non-directories in the way are
 * replaced by directories, and every dentry walked through is marked as
 * touched by layer. Without create, -ENOENT/-ENOTDIR report a missing path. */
static int walk_dir(struct o2v_tree *t, char *const *comp, size_t n, bool create, uint32_t layer,
		    struct o2v_node **ret)
{
	_cleanup_free_ char *buf = NULL;
	struct o2v_node *cur = t->root;
	size_t len = 0, follows = 0;
	char name[O2V_TREE_NAME_MAX + 1];
	char *p;

	for (size_t i = 0; i < n; i++)
		len += strlen(comp[i]) + 1;
	buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	p = buf;
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s/", comp[i]);
	*p = '\0';

	p = buf;
	while (*p) {
		char *slash = strchr(p, '/');
		size_t clen = slash ? (size_t)(slash - p) : strlen(p);
		struct o2v_dentry *d;
		size_t idx;
		int r;

		if (clen > O2V_TREE_NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(name, p, clen);
		name[clen] = '\0';
		p += clen + (slash ? 1 : 0);
		if (clen == 0 || !strcmp(name, "."))
			continue;
		if (!strcmp(name, "..")) {
			cur = cur->parent;
			continue;
		}
		d = dir_find(cur, name, &idx);
		if (!d) {
			struct o2v_node *nd;
			if (!create)
				return -ENOENT;
			nd = implicit_dir(t, cur);
			if (!nd)
				return -errno;
			r = dir_insert(cur, idx, name, nd, layer, false);
			if (r < 0) {
				node_free(t, nd);
				return r;
			}
			cur = nd;
			continue;
		}
		if (create && d->layer != layer) {
			d->layer = layer;
			d->explicit_ = false;
		}
		if (S_ISDIR(d->node->mode)) {
			cur = d->node;
		} else if (S_ISLNK(d->node->mode)) {
			const char *target = d->node->target;
			size_t tlen = strlen(target), rest = strlen(p);
			char *nbuf;

			if (++follows > O2V_TREE_FOLLOW_MAX)
				return -ELOOP;
			nbuf = malloc(tlen + rest + 2);
			if (!nbuf)
				return -ENOMEM;
			sprintf(nbuf, "%s/%s", target, p);
			free(buf);
			buf = p = nbuf;
			if (target[0] == '/')
				cur = t->root;
		} else {
			struct o2v_node *nd;
			if (!create)
				return -ENOTDIR;
			nd = implicit_dir(t, cur);
			if (!nd)
				return -errno;
			nd->refs = 1;
			dentry_replace(t, cur, d, nd);
			d->explicit_ = false;
			cur = nd;
		}
	}
	*ret = cur;
	return 0;
}

static int walk_error(struct o2v_error *err, int r, const char *what)
{
	switch (r) {
	case -ELOOP:
		return o2v_error_set(err, -EINVAL, "too many levels of symbolic links in %s", what);
	case -ENAMETOOLONG:
		return o2v_error_set(err, -EINVAL, "over-long name while resolving %s", what);
	case -ENOENT:
		return o2v_error_set(err, -ENOENT, "%s does not exist", what);
	case -ENOTDIR:
		return o2v_error_set(err, -ENOENT, "%s: a parent is not a directory", what);
	case -E2BIG:
		return o2v_error_set(err, -E2BIG, "more than %d files in the image",
				     O2V_TREE_NODES_MAX);
	default:
		return o2v_error_sys(err, r, "resolve %s", what);
	}
}

int o2v_tree_add(struct o2v_tree *t, const struct o2v_path *p, struct o2v_entry *e, uint32_t layer,
		 struct o2v_error *err)
{
	struct o2v_node *dir, *n;
	struct o2v_dentry *d;
	size_t idx;
	int r;

	if (p->n == 0) {
		if (!S_ISDIR(e->mode))
			return o2v_error_set(err, -EINVAL,
					     "refusing to replace the root directory with a "
					     "non-directory");
		node_set_attrs(t->root, e);
		return 0;
	}
	r = walk_dir(t, p->comp, p->n - 1, true, layer, &dir);
	if (r < 0)
		return walk_error(err, r, "the parent directory");
	d = dir_find(dir, p->comp[p->n - 1], &idx);
	if (d && S_ISDIR(d->node->mode) && S_ISDIR(e->mode)) {
		node_set_attrs(d->node, e);
		d->layer = layer;
		d->explicit_ = true;
		return 0;
	}
	n = o2v_node_new(t, e);
	if (!n)
		return walk_error(err, -errno, "the entry");
	if (d) {
		n->refs = 1;
		dentry_replace(t, dir, d, n);
		d->layer = layer;
		d->explicit_ = true;
		return 0;
	}
	r = dir_insert(dir, idx, p->comp[p->n - 1], n, layer, true);
	if (r < 0) {
		node_free(t, n);
		return o2v_error_sys(err, r, "add entry");
	}
	return 0;
}

int o2v_tree_link(struct o2v_tree *t, const struct o2v_path *p, const struct o2v_path *target,
		  uint32_t layer, struct o2v_error *err)
{
	struct o2v_node *tdir, *dir, *node;
	struct o2v_dentry *td, *d;
	size_t idx;
	int r;

	if (target->n == 0)
		return o2v_error_set(err, -EINVAL, "hardlink to the root directory");
	if (p->n == 0)
		return o2v_error_set(err, -EINVAL, "hardlink named like the root directory");
	r = walk_dir(t, target->comp, target->n - 1, false, 0, &tdir);
	if (r < 0)
		return walk_error(err, r, "the hardlink target");
	td = dir_find(tdir, target->comp[target->n - 1], NULL);
	if (!td)
		return o2v_error_set(err, -ENOENT, "hardlink target does not exist");
	if (S_ISDIR(td->node->mode))
		return o2v_error_set(err, -EINVAL, "hardlink to a directory");
	node = td->node;
	node->refs++; /* held while the link's parent is resolved (it may replace things) */

	r = walk_dir(t, p->comp, p->n - 1, true, layer, &dir);
	if (r < 0) {
		o2v_node_unref(t, node);
		return walk_error(err, r, "the parent directory");
	}
	d = dir_find(dir, p->comp[p->n - 1], &idx);
	if (d) {
		if (d->node == node)
			o2v_node_unref(t, node);
		else
			dentry_replace(t, dir, d, node);
		d->layer = layer;
		d->explicit_ = true;
		return 0;
	}
	r = dir_insert(dir, idx, p->comp[p->n - 1], node, layer, true);
	o2v_node_unref(t, node); /* dir_insert took its own reference */
	if (r < 0)
		return o2v_error_sys(err, r, "add hardlink");
	return 0;
}

static void prune_lower(struct o2v_tree *t, struct o2v_node *dir, uint32_t layer)
{
	for (size_t i = dir->n_children; i-- > 0;) {
		struct o2v_dentry *c = &dir->children[i];
		if (c->layer < layer)
			dir_remove(t, dir, i);
		else if (S_ISDIR(c->node->mode))
			prune_lower(t, c->node, layer);
	}
}

int o2v_tree_whiteout(struct o2v_tree *t, const struct o2v_path *dir, const char *name,
		      uint32_t layer, struct o2v_error *err)
{
	struct o2v_node *parent;
	struct o2v_dentry *d;
	size_t idx;
	int r = walk_dir(t, dir->comp, dir->n, false, 0, &parent);

	if (r == -ENOENT || r == -ENOTDIR)
		return 0; /* nothing below to hide */
	if (r < 0)
		return walk_error(err, r, "the whiteout's directory");
	d = dir_find(parent, name, &idx);
	if (!d)
		return 0;
	if (d->layer < layer) {
		dir_remove(t, parent, idx);
		return 0;
	}
	if (S_ISDIR(d->node->mode)) {
		prune_lower(t, d->node, layer);
		if (!d->explicit_) {
			struct o2v_entry e = {.mode = 0755, .mtime = t->implicit_mtime};
			node_set_attrs(d->node, &e);
		}
	}
	return 0;
}

int o2v_tree_opaque(struct o2v_tree *t, const struct o2v_path *dir, uint32_t layer,
		    struct o2v_error *err)
{
	struct o2v_node *d;
	int r = walk_dir(t, dir->comp, dir->n, true, layer, &d);

	if (r < 0)
		return walk_error(err, r, "the opaque directory");
	prune_lower(t, d, layer);
	return 0;
}

struct o2v_node *o2v_tree_lookup(struct o2v_tree *t, const char *path)
{
	struct o2v_path p;
	struct o2v_node *dir, *res = NULL;
	struct o2v_dentry *d;

	if (o2v_tree_split_path(path, &p, NULL) < 0)
		return NULL;
	if (p.n == 0) {
		o2v_path_release(&p);
		return t->root;
	}
	if (walk_dir(t, p.comp, p.n - 1, false, 0, &dir) == 0) {
		d = dir_find(dir, p.comp[p.n - 1], NULL);
		if (d)
			res = d->node;
	}
	o2v_path_release(&p);
	return res;
}

int o2v_tree_attach(struct o2v_tree *t, struct o2v_node *dir, const char *name,
		    struct o2v_node *node, struct o2v_error *err)
{
	size_t idx;
	int r;

	if (dir_find(dir, name, &idx))
		return o2v_error_set(err, -EEXIST, "'%s' already exists", name);
	r = dir_insert(dir, idx, name, node, 0, true);
	if (r < 0)
		return o2v_error_sys(err, r, "add '%s'", name);
	return 0;
}
