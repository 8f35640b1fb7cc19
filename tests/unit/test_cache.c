/* test_cache.c - the OCI layout cache: staging, verification, commit,
 * concurrent commits, lookup, untag, prune, o2v_image_load. */
#include "../../common/o2v.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../../common/fsutil.h"
#include "../../registry/cache.h"
#include "../../registry/digest.h"
#include "tap.h"

struct img {
	char layer[64], config[512], manifest[2048];
	char dl[O2V_DIGEST_MAX], dc[O2V_DIGEST_MAX], dm[O2V_DIGEST_MAX], diff[O2V_DIGEST_MAX];
};

static void make_img(struct img *im, const char *content)
{
	snprintf(im->layer, sizeof(im->layer), "%s", content);
	o2v_digest_buf(im->layer, strlen(im->layer), NULL, im->dl, NULL);
	o2v_digest_buf(im->layer, strlen(im->layer), NULL, im->diff, NULL);
	snprintf(im->config, sizeof(im->config),
		 "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"sh\"]},"
		 "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
		 im->diff);
	o2v_digest_buf(im->config, strlen(im->config), NULL, im->dc, NULL);
	snprintf(im->manifest, sizeof(im->manifest),
		 "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\","
		 "\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
		 "\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":%zu}]}",
		 O2V_MT_OCI_MANIFEST, O2V_MT_OCI_CONFIG, im->dc, strlen(im->config), im->dl,
		 strlen(im->layer));
	o2v_digest_buf(im->manifest, strlen(im->manifest), NULL, im->dm, NULL);
}

static void entry_for(struct o2v_cache_entry *e, const struct img *im, const char *name)
{
	memset(e, 0, sizeof(*e));
	e->name = (char *)name;
	snprintf(e->media_type, sizeof(e->media_type), "%s", O2V_MT_OCI_MANIFEST);
	snprintf(e->digest, sizeof(e->digest), "%s", im->dm);
	e->size = strlen(im->manifest);
}

static int store(struct o2v_cache *c, const struct img *im, const char *name, struct o2v_error *err)
{
	struct o2v_stage *s;
	struct o2v_cache_entry e;
	int r = o2v_stage_open(c, &s, err);

	if (r < 0)
		return r;
	entry_for(&e, im, name);
	if ((r = o2v_stage_put(s, im->dl, im->layer, strlen(im->layer), err)) >= 0 &&
	    (r = o2v_stage_put(s, im->dc, im->config, strlen(im->config), err)) >= 0 &&
	    (r = o2v_stage_put(s, im->dm, im->manifest, strlen(im->manifest), err)) >= 0)
		r = o2v_stage_commit(s, &e, err);
	o2v_stage_free(s);
	return r;
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* A blob large enough for the writer's worker threads: odd-sized writes, a
 * restart half-way, a corrupted byte caught at finish, then a clean write
 * whose committed file has the exact bytes. */
static void big_blob(void)
{
	const size_t size = (3 << 20) + 123, chunk = 16381;
	_cleanup_free_ char *data = malloc(size), *back = NULL;
	char root[] = "/tmp/o2v-cache-big-XXXXXX";
	struct o2v_cache *c;
	struct o2v_stage *s;
	struct o2v_blob_writer *w;
	struct o2v_error err = {0};
	char digest[O2V_DIGEST_MAX];
	size_t len = 0;
	int r = 0;

	for (size_t i = 0; i < size; i++)
		data[i] = (char)((i * 2654435761u) >> 13);
	o2v_digest_buf(data, size, NULL, digest, NULL);
	TAP_OK(mkdtemp(root) != NULL, "temp dir for a big blob");
	TAP_IS_INT(o2v_cache_open(root, &c, &err), 0, "its cache");
	TAP_IS_INT(o2v_stage_open(c, &s, &err), 0, "its stage");
	TAP_IS_INT(o2v_stage_blob_open(s, digest, size, &w, &err), 0, "writer for a 3 MiB blob");
	for (size_t off = 0; off < size / 2 && r == 0; off += chunk)
		r = o2v_blob_writer_write(w, data + off, chunk, &err);
	TAP_IS_INT(r, 0, "first half written");
	TAP_IS_INT(o2v_blob_writer_reset(w, &err), 0, "restart from zero");
	TAP_IS_INT((int)o2v_blob_writer_offset(w), 0, "offset back to 0");
	data[size - 5] ^= 1;
	for (size_t off = 0; off < size && r == 0; off += chunk)
		r = o2v_blob_writer_write(w, data + off, chunk < size - off ? chunk : size - off,
					  &err);
	TAP_IS_INT(r, 0, "whole blob written, one byte wrong");
	TAP_IS_INT(o2v_blob_writer_finish(w, &err), -EBADMSG, "the wrong byte fails the digest");
	data[size - 5] ^= 1;
	TAP_IS_INT(o2v_blob_writer_reset(w, &err), 0, "restart after a mismatch");
	for (size_t off = 0; off < size && r == 0; off += chunk)
		r = o2v_blob_writer_write(w, data + off, chunk < size - off ? chunk : size - off,
					  &err);
	TAP_IS_INT(o2v_blob_writer_finish(w, &err), 0, "the right bytes verify");
	o2v_blob_writer_free(w);
	TAP_IS_INT(o2v_stage_commit(s, NULL, &err), 0, "commit without an index entry");
	TAP_IS_INT(o2v_cache_read_blob(c, digest, size, &back, &len, &err), 0,
		   "the committed blob reads back and verifies");
	TAP_OK(len == size && back && !memcmp(back, data, size), "with the exact bytes");
	o2v_stage_free(s);
	o2v_cache_close(c);
	o2v_rm_rf(root, NULL);
}

int main(void)
{
	char root[] = "/tmp/o2v-cache-test-XXXXXX";
	struct o2v_error err = {0};
	struct o2v_cache *c;
	struct img a, b;
	char blobs[128], tmp[128];

	TAP_OK(mkdtemp(root) != NULL, "temp dir");
	snprintf(blobs, sizeof(blobs), "%s/blobs/sha256", root);
	snprintf(tmp, sizeof(tmp), "%s/.oci2vm-tmp", root);
	TAP_IS_INT(o2v_cache_open(root, &c, &err), 0, "open creates the layout");
	_cleanup_free_ char *layout = NULL;
	char p[400];
	snprintf(p, sizeof(p), "%s/oci-layout", root);
	o2v_read_file(p, 4096, &layout, NULL, &err);
	TAP_OK(layout && strstr(layout, "\"imageLayoutVersion\": \"1.0.0\""), "oci-layout written");

	make_img(&a, "layer-a");
	make_img(&b, "layer-b");
	big_blob();

	/* a writer that gets the wrong bytes leaves nothing behind */
	struct o2v_stage *s;
	struct o2v_blob_writer *w;
	TAP_IS_INT(o2v_stage_open(c, &s, &err), 0, "stage");
	TAP_IS_INT(o2v_stage_blob_open(s, a.dl, 7, &w, &err), 0, "writer");
	TAP_IS_INT(o2v_blob_writer_write(w, "layer-x", 7, &err), 0, "write 7 bytes");
	TAP_IS_INT(o2v_blob_writer_write(w, "!", 1, &err), -EBADMSG, "an 8th byte is refused");
	TAP_IS_INT(o2v_blob_writer_finish(w, &err), -EBADMSG, "digest mismatch at finish");
	TAP_OK(strstr(err.msg, "digest mismatch") != NULL, "mismatch message: %s", err.msg);
	TAP_IS_INT(o2v_blob_writer_reset(w, &err), 0, "reset");
	TAP_IS_INT(o2v_blob_writer_write(w, "layer", 5, &err), 0, "write 5");
	TAP_IS_INT(o2v_blob_writer_finish(w, &err), -EBADMSG, "truncated at finish");
	TAP_OK(strstr(err.msg, "truncated") != NULL, "truncation message");
	TAP_IS_INT(o2v_blob_writer_write(w, "-a", 2, &err), 0, "resume");
	TAP_IS_INT(o2v_blob_writer_finish(w, &err), 0, "right bytes verify");
	o2v_blob_writer_free(w);
	TAP_IS_INT(o2v_stage_blob_open(s, "sha256:../../etc", 1, &w, &err), -EBADMSG,
		   "invalid digest refused before any path use");
	o2v_stage_free(s);
	TAP_IS_INT(count_files(blobs), 0, "an uncommitted stage leaves no blob");
	TAP_IS_INT(count_files(tmp), 0, "and no staging dir");

	/* commit, then find */
	TAP_IS_INT(store(c, &a, "example.com/a:1", &err), 0, "store image a");
	TAP_IS_INT(count_files(blobs), 3, "three blobs");
	struct o2v_cache_entry e;
	TAP_IS_INT(o2v_cache_find(c, "example.com/a:1", NULL, &e, &err), 1, "find by name");
	TAP_IS_STR(e.digest, a.dm, "entry digest");
	o2v_cache_entry_release(&e);
	TAP_IS_INT(o2v_cache_find(c, "nope", a.dm, &e, &err), 1, "find by digest");
	o2v_cache_entry_release(&e);
	TAP_IS_INT(o2v_cache_find(c, "nope", NULL, &e, &err), 0, "unknown name");

	/* a tag whose blobs are missing is refused at commit */
	TAP_IS_INT(o2v_stage_open(c, &s, &err), 0, "stage");
	struct o2v_cache_entry eb;
	entry_for(&eb, &b, "example.com/b:1");
	TAP_IS_INT(o2v_stage_put(s, b.dm, b.manifest, strlen(b.manifest), &err), 0,
		   "stage manifest");
	TAP_IS_INT(o2v_stage_commit(s, &eb, &err), -EAGAIN, "commit without the layer fails");
	o2v_stage_free(s);
	TAP_IS_INT(count_files(blobs), 3, "and leaves the cache as it was");

	/* concurrent commits of the same image: both succeed, one copy */
	pid_t pids[4];
	for (int i = 0; i < 4; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct o2v_cache *cc;
			if (o2v_cache_open(root, &cc, NULL) < 0)
				_exit(2);
			_exit(store(cc, &b, "example.com/b:1", NULL) < 0 ? 1 : 0);
		}
	}
	int ok = 0;
	for (int i = 0; i < 4; i++) {
		int st;
		waitpid(pids[i], &st, 0);
		ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	TAP_IS_INT(ok, 4, "four concurrent stores of one image all succeed");
	TAP_IS_INT(count_files(blobs), 6, "one copy of each blob");
	struct o2v_image_info *v;
	size_t n;
	TAP_IS_INT(o2v_cache_list(c, &v, &n, &err), 0, "list");
	TAP_IS_INT(n, 2, "two tags, no duplicate entries");
	TAP_OK(n == 2 && v[0].complete && !strcmp(v[1].platform, "linux/amd64"),
	       "complete, platform");
	TAP_IS_INT(n == 2 ? v[0].size : 0, strlen(a.manifest) + strlen(a.config) + 7,
		   "size sums blobs");
	o2v_image_info_free(v, n);

	/* load without network */
	struct o2v_ref ref = {0};
	struct o2v_image *img = NULL;
	ref.transport = strdup("docker");
	ref.normalized = strdup("example.com/a:1");
	ref.domain = strdup("example.com");
	ref.repository = strdup("a");
	ref.tag = strdup("1");
	TAP_IS_INT(o2v_image_load(c, &ref, &img, &err), 0, "image_load");
	TAP_OK(img && img->n_layers == 1 && !strcmp(img->layers[0].digest, a.dl) &&
		   !strcmp(img->config.cmd[0], "sh"),
	       "loaded image has its layer and config");
	o2v_image_free(img);

	/* untag + prune */
	TAP_IS_INT(o2v_cache_untag(c, &ref, &err), 1, "untag a");
	TAP_IS_INT(o2v_cache_untag(c, &ref, &err), -ENOENT, "untag again: not found");
	TAP_OK(strstr(err.msg, "not found") && strstr(err.msg, "example.com/a:1"),
	       "message names the image");
	TAP_IS_INT(o2v_image_load(c, &ref, &img, &err), -ENOENT, "load after untag fails");
	TAP_OK(strstr(err.msg, "oci2vm pull example.com/a:1") != NULL, "and says to pull");

	/* a stale stage (its owner died: lock free) and a live one */
	char stale[300], live[300];
	snprintf(stale, sizeof(stale), "%s/stage-dead01", tmp);
	mkdir(stale, 0755);
	snprintf(p, sizeof(p), "%s/lock", stale);
	close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	snprintf(p, sizeof(p), "%s/sha256-partial", stale);
	o2v_write_file_atomic(p, "xx", 2, 0644, NULL);
	struct o2v_stage *alive;
	o2v_stage_open(c, &alive, &err);
	snprintf(live, sizeof(live), "%s", tmp);

	struct o2v_prune_stats st;
	TAP_IS_INT(o2v_cache_prune(c, &st, &err), 0, "prune");
	TAP_IS_INT(st.blobs, 3, "the three blobs of a are removed");
	TAP_IS_INT(st.bytes, strlen(a.manifest) + strlen(a.config) + 7, "bytes freed");
	TAP_IS_INT(st.stale, 1, "the dead stage is removed");
	TAP_IS_INT(count_files(blobs), 3, "b's blobs stay");
	TAP_IS_INT(count_files(tmp), 1, "the live stage stays");
	o2v_stage_free(alive);
	TAP_IS_INT(count_files(tmp), 0, "and goes with its owner");

	/* a tampered cache is noticed */
	snprintf(p, sizeof(p), "%s/%s", blobs, o2v_digest_hex(b.dm));
	chmod(p, 0644);
	o2v_write_file_atomic(p, "{}", 2, 0644, NULL);
	free(ref.normalized);
	ref.normalized = strdup("example.com/b:1");
	TAP_IS_INT(o2v_image_load(c, &ref, &img, &err), -EBADMSG, "tampered manifest detected");
	o2v_ref_release(&ref);
	o2v_cache_close(c);
	o2v_rm_rf(root, NULL);
	return tap_done();
}
