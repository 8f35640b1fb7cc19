/* user.c - USER resolved against the image's own /etc/passwd and /etc/group.
 *
 * No NSS: the image's files are read directly, as runc does
 * (libcontainer/user.GetExecUser), with the same outcomes:
 *   ""            root (uid 0, gid 0), HOME and groups from passwd if listed
 *   NAME          must be in passwd; gid and HOME from its entry
 *   UID           its passwd entry if any; else uid UID, gid 0, HOME "/"
 *   X:GROUP       GROUP by name must be in group; a numeric GROUP is used as is
 *   X:GID:G1,G2   (an OCI runtime's user: uid, gid and additionalGids) those
 *                 supplementary gids, numeric, after the primary one
 * Supplementary groups (every group listing the user's name) are added only
 * when no group is given; setgroups() gets the primary gid first, as Docker
 * does. Lines that cannot be an entry (comments, NIS "+"/"-" lines, too few
 * fields, non-numeric ids) are skipped: runc would read a garbage uid as 0,
 * and uid 0 by accident is the one mistake an init must not make.
 */
#include "init.h"

#include <string.h>

#include "../common/fsutil.h"

#define ID_MAX	   2147483647u /* runc: ids must be in 0..2^31-1 */
#define FIELDS_MAX 7

void init_user_release(struct init_user *u)
{
	free(u->home);
	u->home = NULL;
}

/* Parse a decimal id; false if s is not one. */
static bool parse_id(const char *s, unsigned *ret)
{
	unsigned long v = 0;

	if (!*s || strlen(s) > 10)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v > ID_MAX)
		return false;
	*ret = (unsigned)v;
	return true;
}

static bool is_numeric(const char *s)
{
	unsigned dummy;

	return parse_id(s, &dummy);
}

/* Split line in place at ':'; returns the number of fields. */
static size_t split(char *line, char *f[FIELDS_MAX])
{
	size_t n = 0;

	f[n++] = line;
	for (char *p = line; *p && n < FIELDS_MAX; p++)
		if (*p == ':') {
			*p = '\0';
			f[n++] = p + 1;
		}
	return n;
}

/* Calls fn for each usable line of a passwd/group file (split into fields).
 * fn returns true to stop. A missing file is an empty one. */
static int for_each_entry(const char *path, size_t min_fields,
			  bool (*fn)(char **f, size_t n, void *ud), void *ud, struct o2v_error *err)
{
	_cleanup_free_ char *buf = NULL;
	int r = o2v_read_file(path, INIT_ETC_FILE_MAX, &buf, NULL, err);

	if (r == -ENOENT) {
		o2v_error_clear(err);
		return 0;
	}
	if (r < 0)
		return r;
	for (char *line = buf, *next; line; line = next) {
		char *f[FIELDS_MAX];
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		line[strcspn(line, "\r")] = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		if (!*line || *line == '#' || *line == '+' || *line == '-')
			continue;
		size_t n = split(line, f);
		if (n < min_fields)
			continue;
		if (fn(f, n, ud))
			return 1;
	}
	return 0;
}

struct pw_match {
	const char *name;
	bool numeric;
	unsigned uid;
	/* result */
	bool found;
	char name_buf[256];
	unsigned ruid, rgid;
	char *home;
};

static bool pw_fn(char **f, size_t n, void *ud)
{
	struct pw_match *m = ud;
	unsigned uid, gid;

	if (!parse_id(f[2], &uid) || !parse_id(f[3], &gid))
		return false;
	if ((!m->name[0] || strcmp(f[0], m->name)) && !(m->numeric && uid == m->uid))
		return false;
	m->found = true;
	m->ruid = uid;
	m->rgid = gid;
	snprintf(m->name_buf, sizeof(m->name_buf), "%s", f[0]);
	m->home = strdup(n > 5 && f[5][0] ? f[5] : "/");
	return true;
}

struct gr_match {
	const char *name; /* explicit group: by name, or by gid when numeric */
	bool numeric;
	unsigned gid;
	const char *member; /* supplementary: groups listing this user */
	struct init_user *u;
	bool found;
	int overflow;
};

static bool add_group(struct init_user *u, gid_t g)
{
	for (size_t i = 0; i < u->n_groups; i++)
		if (u->groups[i] == g)
			return true;
	if (u->n_groups >= INIT_USER_GROUPS_MAX)
		return false;
	u->groups[u->n_groups++] = g;
	return true;
}

static bool gr_fn(char **f, size_t n, void *ud)
{
	struct gr_match *m = ud;
	unsigned gid;

	if (!parse_id(f[2], &gid))
		return false;
	if (m->name) {
		if (strcmp(f[0], m->name) && !(m->numeric && gid == m->gid))
			return false;
		m->found = true;
		m->gid = gid;
		return true;
	}
	if (n < 4)
		return false;
	for (char *p = f[3], *end; *p; p = end + (*end ? 1 : 0)) {
		end = p + strcspn(p, ",");
		if ((size_t)(end - p) == strlen(m->member) &&
		    !memcmp(p, m->member, (size_t)(end - p))) {
			if (!add_group(m->u, gid))
				m->overflow = 1;
			break;
		}
	}
	return m->overflow;
}

int init_user_resolve(const char *passwd_path, const char *group_path, const char *spec,
		      struct init_user *ret, struct o2v_error *err)
{
	_cleanup_free_ char *user = strdup(spec ? spec : "");
	struct pw_match pw = {0};
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!user)
		return o2v_error_sys(err, -ENOMEM, "resolve user");
	char *group = strchr(user, ':'), *extra = NULL;
	if (group)
		*group++ = '\0';
	if (group && (extra = strchr(group, ':')))
		*extra++ = '\0';

	/* "" and ":G" mean root, looked up by uid so HOME comes from passwd. */
	pw.name = user;
	pw.numeric = !*user || is_numeric(user);
	if (*user)
		parse_id(user, &pw.uid);
	if ((r = for_each_entry(passwd_path, 4, pw_fn, &pw, err)) < 0)
		return o2v_error_prefix(err, "resolve user '%s'", spec);
	if (pw.found && !pw.home)
		return o2v_error_sys(err, -ENOMEM, "resolve user");
	ret->home = pw.found ? pw.home : strdup("/");
	if (!ret->home)
		return o2v_error_sys(err, -ENOMEM, "resolve user");
	if (pw.found) {
		ret->uid = pw.ruid;
		ret->gid = pw.rgid;
	} else if (pw.numeric) {
		ret->uid = pw.uid;
		ret->gid = 0;
	} else {
		init_user_release(ret);
		return o2v_error_set(
		    err, -ENOENT,
		    "unable to find user '%.64s': no matching entries in the image's "
		    "/etc/passwd",
		    user);
	}

	if (group) {
		struct gr_match gm = {.name = group, .numeric = is_numeric(group)};
		if (gm.numeric)
			parse_id(group, &gm.gid);
		if (!*group || (r = for_each_entry(group_path, 3, gr_fn, &gm, err)) < 0) {
			init_user_release(ret);
			if (!*group)
				return o2v_error_set(err, -EINVAL, "resolve user '%s': empty group",
						     spec);
			return o2v_error_prefix(err, "resolve user '%s'", spec);
		}
		if (!gm.found && !gm.numeric) {
			init_user_release(ret);
			return o2v_error_set(err, -ENOENT,
					     "unable to find group '%.64s': no matching entries in "
					     "the image's /etc/group",
					     group);
		}
		ret->gid = gm.gid;
		add_group(ret, ret->gid);
		for (char *g = extra, *next; g && *g; g = next) {
			unsigned id;
			if ((next = strchr(g, ',')))
				*next++ = '\0';
			if (!is_numeric(g) || !parse_id(g, &id)) {
				init_user_release(ret);
				return o2v_error_set(
				    err, -EINVAL,
				    "resolve user '%s': supplementary group '%.32s' "
				    "is not a number",
				    spec, g);
			}
			add_group(ret, (gid_t)id);
		}
		return 0;
	}

	add_group(ret, ret->gid);
	if (pw.found) {
		struct gr_match gm = {.member = pw.name_buf, .u = ret};
		if ((r = for_each_entry(group_path, 3, gr_fn, &gm, err)) < 0) {
			init_user_release(ret);
			return o2v_error_prefix(err, "resolve user '%s'", spec);
		}
		if (gm.overflow) {
			init_user_release(ret);
			return o2v_error_set(err, -E2BIG,
					     "resolve user '%s': in more than %d groups", spec,
					     INIT_USER_GROUPS_MAX);
		}
	}
	return 0;
}
