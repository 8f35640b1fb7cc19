/* fuzz_muxproto.c - the exec streams' frames (common/muxproto.c) as a peer may send them.
 *
 * Input: a byte stream cut into frames the way the guest, the supervisor and the client read
 * them (a header, then its payload). Checks: a header that parses has a known type and
 * channel and a payload within the maximum, and re-encodes to the same bytes; an OPEN
 * payload that parses has a non-empty command, bounded lists, an absolute working
 * directory, and formats to a request that parses back to the same. */
#include "fuzz.h"

#include "../../common/muxproto.h"

static void check_open(const uint8_t *p, size_t len)
{
	char *copy = malloc(len + 1), *again = NULL, *copy2;
	struct o2v_mux_exec e, back;
	struct o2v_error err = {0};
	size_t alen;

	FUZZ_CHECK(copy, "oom");
	memcpy(copy, p, len);
	if (o2v_mux_exec_parse(copy, len, &e, &err) == 0) {
		FUZZ_CHECK(e.argv[0] && e.argv[0][0], "an empty command parsed");
		FUZZ_CHECK(!e.workdir || e.workdir[0] == '/', "a relative workdir parsed");
		if (o2v_mux_exec_format(&e, &again, &alen, &err) == 0) {
			copy2 = malloc(alen);
			FUZZ_CHECK(copy2, "oom");
			memcpy(copy2, again, alen);
			FUZZ_CHECK(o2v_mux_exec_parse(copy2, alen, &back, &err) == 0,
				   "a formatted request did not parse: %s", err.msg);
			for (size_t i = 0; e.argv[i] || back.argv[i]; i++)
				FUZZ_CHECK(e.argv[i] && back.argv[i] &&
					       !strcmp(e.argv[i], back.argv[i]),
					   "argv %zu differs", i);
			FUZZ_CHECK(e.tty == back.tty && e.rows == back.rows, "flags differ");
			free(copy2);
			free(again);
		}
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (size_t off = 0; off + O2V_MUX_HDR <= size;) {
		struct o2v_mux_hdr h;
		uint8_t again[O2V_MUX_HDR];
		if (o2v_mux_hdr_get(data + off, &h) < 0) {
			off += O2V_MUX_HDR;
			continue;
		}
		FUZZ_CHECK(h.type >= O2V_MUX_OPEN && h.type <= O2V_MUX_TYPE_MAX &&
			       h.chan < O2V_MUX_CHANS && h.len <= O2V_MUX_PAYLOAD_MAX,
			   "a bad header parsed");
		o2v_mux_hdr_put(again, &h);
		FUZZ_CHECK(!memcmp(again, data + off, O2V_MUX_HDR),
			   "header re-encodes differently");
		off += O2V_MUX_HDR;
		size_t n = h.len < size - off ? h.len : size - off;
		if (h.type == O2V_MUX_OPEN)
			check_open(data + off, n);
		off += n;
	}
	return 0;
}
