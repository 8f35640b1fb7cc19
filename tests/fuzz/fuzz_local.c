/* fuzz_local.c - images from files (registry/local.c): docker-archive's manifest.json,
 * the entry paths and symlinks it names, OCI layouts' index.json, and whole imports of
 * docker-archive / oci-archive tars into a fresh cache.
 *
 * local.c is compiled into this harness to reach its static functions.
 *
 * Input, byte 0 = flags:
 *   bit 0 clear - the parsers alone. Then: a NAME[:TAG] ('\n'), symlink pairs
 *     "FROM\0TO\0" up to a 0xff byte, and the rest is manifest.json (also read as an
 *     index.json). Checks: docker_select() picks an object or fails with a message;
 *     every resolved path is clean (no leading '/', no "." / ".." / empty component) and
 *     resolving is a fixed point; oci_select() answers a valid digest; the Docker v2
 *     manifest built for the layers always parses back with the same layers.
 *   bit 0 set - a whole import. The rest is a list of tar entries (op byte: bits 0-1 =
 *     0 file, 1 symlink, 2 directory; the NUL-terminated name, a 3-byte big-endian
 *     length and that many bytes of content or link target),
 *     written with libarchive to an archive file, imported as docker-archive (bit 1
 *     clear) or oci-archive (bit 1 set) with the tag of the first entry named ".tag".
 *     Checks: success gives an image whose every blob is in the cache with valid digests
 *     and the layer count of its manifest, and importing again gives the same manifest
 *     digest (bit 2); failure is an error prefixed "import '...'" and leaves the cache
 *     exactly as before (empty index, no blob).
 * Files live under one private directory made at start-up and removed at exit; each run
 * removes what it made. */
#include "fuzz.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <sys/stat.h>

#include "../../registry/local.c"

/* ---- shared ---- */

#define EMPTY_INDEX_JSON "{\"schemaVersion\": 2, \"manifests\": []}\n" /* as cache.c */

static char dir[256];

static void cleanup(void)
{
	if (dir[0])
		o2v_rm_rf(dir, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;

	fuzz_private_dir(dir, sizeof(dir), "local");
	atexit(cleanup);
	return 0;
}

static void check_clean_path(const char *p)
{
	FUZZ_CHECK(p[0] != '/', "'%s' starts with '/'", p);
	if (!p[0])
		return;
	FUZZ_CHECK(p[strlen(p) - 1] != '/' && !strstr(p, "//"), "'%s': empty component", p);
	_cleanup_free_ char *copy = strdup(p);
	char *save = NULL;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save))
		FUZZ_CHECK(strcmp(c, ".") && strcmp(c, ".."), "'%s': component '%s'", p, c);
}

/* ---- parsers alone ---- */

static void check_resolve(const struct symlinks *sl, const char *name)
{
	_cleanup_free_ char *n = normalize_entry_path(name);
	if (n) {
		check_clean_path(n);
		_cleanup_free_ char *again = normalize_entry_path(n);
		FUZZ_CHECK(again && !strcmp(again, n), "normalize('%s') = '%s', then '%s'", name, n,
			   again ? again : "(null)");
	}
	_cleanup_free_ char *r = resolve_entry(sl, name);
	if (!r)
		return;
	check_clean_path(r);
	char d[O2V_DIGEST_MAX];
	if (digest_from_name(r, d))
		FUZZ_CHECK(o2v_digest_valid(d), "digest '%s' from '%s'", d, r);
}

static void parsers(struct fuzz_in *in)
{
	struct symlinks sl = {.file = "fuzz.tar"};
	struct o2v_ref ref = {0}, tagref = {0};
	struct import im = {.ref = &ref, .src = {.archive = true, .path = "fuzz.tar"}};
	struct o2v_error err = {0};
	size_t len;

	char *tag = fuzz_str(in, '\n', NULL);
	ref.transport = "docker-archive";
	ref.normalized = "docker-archive:fuzz.tar";
	if (tag[0] && o2v_ref_parse(tag, &tagref, NULL) == 0)
		ref.tag = tagref.normalized;
	while (in->n && in->p[0] != 0xff && sl.n < 64) {
		char *from = fuzz_str(in, 0, NULL), *to = fuzz_str(in, 0, NULL);
		/* as docker_scan_fn stores them: the name cleaned, the target resolved */
		char **nf = realloc(sl.from, (sl.n + 1) * sizeof(char *));
		FUZZ_CHECK(nf, "oom");
		sl.from = nf;
		char **nt = realloc(sl.to, (sl.n + 1) * sizeof(char *));
		FUZZ_CHECK(nt, "oom");
		sl.to = nt;
		sl.from[sl.n] = strdup(clean_name(from));
		sl.to[sl.n] = strdup(to);
		FUZZ_CHECK(sl.from[sl.n] && sl.to[sl.n], "oom");
		sl.n++;
		check_resolve(&sl, from);
		check_resolve(&sl, to);
		free(from);
		free(to);
	}
	if (in->n)
		in->p++, in->n--;
	char *text = fuzz_rest(in, &len);

	/* manifest.json, as import_docker_archive() reads it */
	struct json_object *mj = json_tokener_parse(text), *entry = NULL, *v, *layers;
	if (mj && json_object_is_type(mj, json_type_array)) {
		int r = docker_select(&im, mj, &entry, &err);
		if (r < 0) {
			FUZZ_CHECK(err.code == r && err.msg[0], "select r=%d", r);
		} else {
			FUZZ_CHECK(entry && json_object_is_type(entry, json_type_object),
				   "selected a non-object");
			if (json_object_object_get_ex(entry, "Config", &v) &&
			    json_object_is_type(v, json_type_string))
				check_resolve(&sl, json_object_get_string(v));
			if (json_object_object_get_ex(entry, "Layers", &layers) &&
			    json_object_is_type(layers, json_type_array)) {
				size_t n = json_object_array_length(layers);
				for (size_t i = 0; i < n && i < 256; i++) {
					const char *ln = json_object_get_string(
					    json_object_array_get_idx(layers, i));
					if (ln)
						check_resolve(&sl, ln);
				}
				/* the manifest built for these layers */
				for (size_t i = 0; i < n && i < 64; i++) {
					char hex[O2V_DIGEST_MAX];
					const char *ln = json_object_get_string(
					    json_object_array_get_idx(layers, i));
					FUZZ_CHECK(o2v_digest_buf(ln ? ln : "", ln ? strlen(ln) : 0,
								  NULL, hex, NULL) == 0,
						   "digest");
					FUZZ_CHECK(want_add(&im, ln ? ln : "x", hex,
							    (int64_t)(ln ? strlen(ln) : 0),
							    NULL) == 0,
						   "want_add");
					im.wants[i].compression = (int)(hex[7] - '0') % 3;
					if (im.wants[i].compression < 0)
						im.wants[i].compression = 0;
				}
				char cfg[O2V_DIGEST_MAX];
				FUZZ_CHECK(o2v_digest_buf(text, len, NULL, cfg, NULL) == 0,
					   "digest");
				char *built = docker_build_manifest(&im, cfg, len);
				FUZZ_CHECK(built, "no manifest built");
				struct o2v_manifest m;
				int mr = o2v_manifest_parse(built, strlen(built), NULL, &m, &err);
				FUZZ_CHECK(mr == 0 && m.kind == O2V_MANIFEST_IMAGE &&
					       m.n_layers == im.n_wants,
					   "built manifest does not parse back: %s", err.msg);
				for (size_t i = 0; i < m.n_layers; i++)
					FUZZ_CHECK(
					    !strcmp(m.layers[i].digest, im.wants[i].digest) &&
						o2v_media_type_is_layer(m.layers[i].media_type),
					    "layer %zu", i);
				o2v_manifest_release(&m);
				free(built);
				wants_free(&im);
			}
		}
	}
	if (mj)
		json_object_put(mj);

	/* the same text as an OCI layout's index.json */
	struct o2v_descriptor d;
	ref.transport = "oci-archive";
	ref.tag = tag[0] ? tag : NULL;
	int r = oci_select(&im, text, len, &d, &err);
	if (r < 0)
		FUZZ_CHECK(err.code == r && err.msg[0], "oci_select r=%d", r);
	else
		FUZZ_CHECK(o2v_digest_valid(d.digest), "oci_select digest '%s'", d.digest);

	symlinks_release(&sl);
	o2v_ref_release(&tagref);
	free(tag);
	free(text);
}

/* ---- whole imports ---- */

static char *write_archive(struct fuzz_in *in, const char *path, char **ret_tag)
{
	struct archive *a = archive_write_new();
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	FUZZ_CHECK(a && fd >= 0, "create archive");
	archive_write_set_format_pax_restricted(a);
	FUZZ_CHECK(archive_write_open_fd(a, fd) == ARCHIVE_OK, "open archive");
	*ret_tag = NULL;
	while (in->n) {
		unsigned op = *in->p++;
		in->n--;
		char *name = fuzz_str(in, 0, NULL);
		size_t dlen = 0;
		for (int i = 0; i < 3 && in->n; i++, in->p++, in->n--)
			dlen = dlen << 8 | in->p[0];
		if (dlen > in->n)
			dlen = in->n;
		char *data = malloc(dlen + 1);
		FUZZ_CHECK(data, "oom");
		memcpy(data, in->p, dlen);
		data[dlen] = '\0';
		in->p += dlen;
		in->n -= dlen;
		if (!strcmp(name, ".tag")) {
			if (!*ret_tag)
				*ret_tag = TAKE_PTR(data);
			free(data);
			free(name);
			continue;
		}
		struct archive_entry *e = archive_entry_new();
		FUZZ_CHECK(e, "oom");
		archive_entry_set_pathname(e, name);
		switch (op & 3) {
		case 1:
			archive_entry_set_mode(e, AE_IFLNK | 0777);
			archive_entry_set_symlink(e, data);
			break;
		case 2:
			archive_entry_set_mode(e, AE_IFDIR | 0755);
			break;
		default:
			archive_entry_set_mode(e, AE_IFREG | 0644);
			archive_entry_set_size(e, (la_int64_t)dlen);
		}
		if (archive_write_header(a, e) >= ARCHIVE_WARN && (op & 3) != 1 && (op & 3) != 2)
			archive_write_data(a, data, dlen);
		archive_entry_free(e);
		free(name);
		free(data);
	}
	archive_write_close(a);
	archive_write_free(a);
	close(fd);
	return *ret_tag;
}

static size_t count_blobs(const char *cache_dir)
{
	char p[352];
	size_t n = 0;
	struct dirent *de;

	snprintf(p, sizeof(p), "%s/blobs/sha256", cache_dir);
	DIR *d = opendir(p);
	FUZZ_CHECK(d, "open %s", p);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void check_image(struct o2v_cache *c, const struct o2v_image *img)
{
	FUZZ_CHECK(o2v_digest_valid(img->manifest_digest) && o2v_digest_valid(img->config_digest),
		   "image digests");
	FUZZ_CHECK(o2v_cache_has_blob(c, img->manifest_digest, -1) &&
		       o2v_cache_has_blob(c, img->config_digest, -1),
		   "manifest or config missing");
	FUZZ_CHECK(img->config_json, "no config");
	for (size_t i = 0; i < img->n_layers; i++) {
		FUZZ_CHECK(o2v_digest_valid(img->layers[i].digest), "layer %zu digest", i);
		FUZZ_CHECK(
		    o2v_cache_has_blob(c, img->layers[i].digest, (int64_t)img->layers[i].size),
		    "layer %zu not in the cache", i);
	}
}

static void import(struct fuzz_in *in, unsigned flags)
{
	char archive_path[320], cache_dir[320], *tag = NULL;
	struct o2v_cache *c = NULL;
	struct o2v_error err = {0};
	struct o2v_ref ref = {0}, tagref = {0};
	struct o2v_image *img = NULL;
	bool docker = !(flags & 2);

	snprintf(archive_path, sizeof(archive_path), "%s/image.tar", dir);
	snprintf(cache_dir, sizeof(cache_dir), "%s/cache", dir);
	write_archive(in, archive_path, &tag);
	FUZZ_CHECK(o2v_cache_open(cache_dir, &c, &err) == 0, "open cache: %s", err.msg);

	ref.transport = docker ? "docker-archive" : "oci-archive";
	ref.path = archive_path;
	if (tag && docker && o2v_ref_parse(tag, &tagref, NULL) == 0 &&
	    !strcmp(tagref.transport, "docker") && !tagref.digest)
		ref.tag = tagref.normalized;
	else if (tag && !docker && tag[0])
		ref.tag = tag;
	char normalized[1024];
	snprintf(normalized, sizeof(normalized), "%s:%s%s%s", ref.transport, archive_path,
		 ref.tag ? ":" : "", ref.tag ? ref.tag : "");
	ref.normalized = normalized;

	int r = o2v_local_import(c, &ref, NULL, &img, &err);
	if (getenv("O2V_FUZZ_DEBUG"))
		fprintf(stderr, "import: %d %s\n", r, r < 0 ? err.msg : img->manifest_digest);
	if (r < 0) {
		char prefix[1100];
		snprintf(prefix, sizeof(prefix), "import '%s': ", normalized);
		FUZZ_CHECK(err.code == r && !strncmp(err.msg, prefix, strlen(prefix)), "r=%d '%s'",
			   r, err.msg);
		FUZZ_CHECK(!img, "image on failure");
		/* the cache is exactly as before */
		char *index = NULL;
		size_t ilen;
		char ip[352];
		snprintf(ip, sizeof(ip), "%s/index.json", cache_dir);
		FUZZ_CHECK(o2v_read_file(ip, 1 << 20, &index, &ilen, NULL) == 0, "read index");
		FUZZ_CHECK(!strcmp(index, EMPTY_INDEX_JSON), "index.json changed: %s", index);
		free(index);
		FUZZ_CHECK(count_blobs(cache_dir) == 0, "blobs left in the cache after a failure");
	} else {
		FUZZ_CHECK(r == 0 && img, "r=%d", r);
		check_image(c, img);
		if (flags & 4) {
			struct o2v_image *img2 = NULL;
			r = o2v_local_import(c, &ref, NULL, &img2, &err);
			FUZZ_CHECK(r == 0, "second import fails: %s", err.msg);
			FUZZ_CHECK(!strcmp(img->manifest_digest, img2->manifest_digest),
				   "second import: manifest %s, first %s", img2->manifest_digest,
				   img->manifest_digest);
			o2v_image_free(img2);
		}
		o2v_image_free(img);
	}
	o2v_cache_close(c);
	FUZZ_CHECK(o2v_rm_rf(cache_dir, NULL) == 0, "remove cache");
	unlink(archive_path);
	o2v_ref_release(&tagref);
	free(tag);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > (1 << 20))
		return 0;
	struct fuzz_in in = {data + 1, size - 1};
	if (data[0] & 1)
		import(&in, data[0]);
	else
		parsers(&in);
	return 0;
}
