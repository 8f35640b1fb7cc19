/* test_runopts.c - `oci2vm run` option parsing: Docker's spellings, the
 * design card's "options after REF", and every bad-input case of the issue. */
#include "../../common/o2v.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "../../common/caps.h"
#include "../../oci2vm/runopts.h"
#include "../../oci2vm/values.h"
#include "tap.h"

static int parse(struct o2v_run_opts *o, struct o2v_error *err, const char *const *words)
{
	char *argv[64];
	int argc = 0;

	argv[argc++] = (char *)"run";
	for (; *words; words++)
		argv[argc++] = (char *)*words;
	argv[argc] = NULL;
	o2v_run_opts_init(o);
	o2v_error_clear(err);
	return o2v_run_opts_parse(o, argc, argv, err);
}

#define PARSE(o, err, ...) parse(o, err, (const char *const[]){__VA_ARGS__, NULL})

static void test_design_card_example(void)
{
	struct o2v_run_opts o;
	struct o2v_error err;

	TAP_IS_INT(PARSE(&o, &err, "docker.io/valkey/valkey:9.0.0", "-p", "2229:6379"), 0,
		   "options after REF");
	TAP_IS_STR(o.ref, "docker.io/valkey/valkey:9.0.0", "ref");
	TAP_IS_INT(o.n_ports, 1, "one port");
	TAP_IS_STR(o.ports[0].bind, "127.0.0.1", "default bind is loopback");
	TAP_IS_INT(o.ports[0].host, 2229, "host port");
	TAP_IS_INT(o.ports[0].guest, 6379, "guest port");
	TAP_OK(o.command == NULL, "no command override");
	TAP_IS_INT(o.memory_mib, 512, "default memory 512M");
	TAP_IS_INT(o.cpus, 1, "default 1 cpu");
	o2v_run_opts_release(&o);
}

static void test_command_split(void)
{
	struct o2v_run_opts o;
	struct o2v_error err;

	TAP_IS_INT(PARSE(&o, &err, "--rm", "img", "-e", "A=1", "sh", "-c", "exit 3", "-p", "1:2"),
		   0, "command starts at the first non-option word after REF");
	TAP_IS_STR(o.command[0], "sh", "argv[0]");
	TAP_IS_STR(o.command[2], "exit 3", "argv[2]");
	TAP_IS_STR(o.command[3], "-p", "options after the command belong to it");
	TAP_IS_INT(o.n_ports, 0, "no port parsed from the command");
	TAP_IS_STR(o.env[0], "A=1", "-e after REF");
	TAP_OK(o.rm, "--rm");
	o2v_run_opts_release(&o);

	TAP_IS_INT(PARSE(&o, &err, "img", "--", "-x", "y"), 0, "-- ends options");
	TAP_IS_STR(o.command[0], "-x", "command after --");
	o2v_run_opts_release(&o);

	TAP_IS_INT(PARSE(&o, &err, "-it", "--entrypoint=", "--name", "web.1", "img"), 0,
		   "bundled short flags and --opt=");
	TAP_OK(o.interactive && o.tty, "-it");
	TAP_IS_STR(o.entrypoint, "", "--entrypoint= clears");
	TAP_IS_STR(o.name, "web.1", "--name");
	o2v_run_opts_release(&o);

	TAP_IS_INT(PARSE(&o, &err, "-dp", "8080:80/tcp", "-m", "1g", "--cpus", "2", "img"), 0,
		   "-dp VALUE");
	TAP_OK(o.detach && o.n_ports == 1 && o.ports[0].guest == 80, "-d and -p bundled");
	TAP_IS_INT(o.memory_mib, 1024, "-m 1g");
	TAP_IS_INT(o.cpus, 2, "--cpus 2");
	TAP_OK(!o.no_network && !o.host_loopback,
	       "a network by default, without the host's loopback");
	TAP_OK(o.caps == O2V_CAPS_DEFAULT && !o.caps_set, "Docker's default capabilities");
	o2v_run_opts_release(&o);

	TAP_IS_INT(PARSE(&o, &err, "--net=none", "img"), 0, "--net=none");
	TAP_OK(o.no_network, "--net none: no network");
	o2v_run_opts_release(&o);
	TAP_IS_INT(PARSE(&o, &err, "--network", "none", "--network", "bridge", "img"), 0,
		   "--network bridge after none");
	TAP_OK(!o.no_network, "the last --network wins");
	o2v_run_opts_release(&o);
	TAP_IS_INT(PARSE(&o, &err, "--host-loopback", "img"), 0, "--host-loopback");
	TAP_OK(o.host_loopback, "the opt-in to the host's loopback");
	o2v_run_opts_release(&o);
	TAP_IS_INT(PARSE(&o, &err, "--network", "none", "--host-loopback", "img"), -EINVAL,
		   "--host-loopback without a network is refused");
	TAP_OK(strstr(err.msg, "--host-loopback") && strstr(err.msg, "--network none"),
	       "... saying why (%s)", err.msg);
	o2v_run_opts_release(&o);
	TAP_IS_INT(
	    PARSE(&o, &err, "--cap-add", "NET_ADMIN,cap_sys_ptrace", "--cap-drop", "MKNOD", "img"),
	    0, "--cap-add A,B --cap-drop C");
	TAP_OK(o.caps_set &&
		   o.caps == ((O2V_CAPS_DEFAULT | O2V_CAP(12) | O2V_CAP(19)) & ~O2V_CAP(27)),
	       "added and dropped, any case, with or without CAP_");
	o2v_run_opts_release(&o);
	TAP_IS_INT(PARSE(&o, &err, "--cap-drop=ALL", "--cap-add", "CHOWN", "img"), 0,
		   "--cap-drop ALL --cap-add CHOWN");
	TAP_OK(o.caps == O2V_CAP(0), "only CHOWN (Docker's order)");
	o2v_run_opts_release(&o);
	TAP_IS_INT(PARSE(&o, &err, "--cap-add", "all", "--cap-drop", "SYS_ADMIN", "img"), 0,
		   "--cap-add all --cap-drop SYS_ADMIN");
	TAP_OK(o.caps == (O2V_CAPS_ALL & ~O2V_CAP(21)), "every one but SYS_ADMIN");
	o2v_run_opts_release(&o);
	TAP_IS_INT(PARSE(&o, &err, "--cap-add", "NET_ADMIN,,BOGUS", "img"), -EINVAL,
		   "an unknown capability");
	TAP_OK(strstr(err.msg, "'BOGUS'") != NULL, "... named (%s)", err.msg);
	o2v_run_opts_release(&o);
	TAP_IS_INT(PARSE(&o, &err, "--read-only", "--tmpfs", "/run:size=1m", "--ulimit",
			 "nofile=1024:-1", "--ulimit", "core=0", "--security-opt",
			 "no-new-privileges:true", "--security-opt", "systempaths=unconfined",
			 "img"),
		   0, "--read-only --tmpfs --ulimit --security-opt");
	TAP_OK(o.read_only && o.no_new_privs && o.proc_unconfined,
	       "read-only, no-new-privileges, systempaths=unconfined");
	TAP_OK(o.tmpfs && !strcmp(o.tmpfs[0], "/run:size=1m") && !o.tmpfs[1], "the tmpfs as given");
	TAP_OK(o.ulimits && !strcmp(o.ulimits[0], "nofile 1024 unlimited") &&
		   !strcmp(o.ulimits[1], "core 0 0"),
	       "ulimits in the run configuration's form (hard = soft when not given)");
	o2v_run_opts_release(&o);
	static const struct {
		const char *spec;
		uint64_t ms;
	} durations[] = {{"30s", 30000}, {"1m30s", 90000}, {"500ms", 500}, {"1h", 3600000},
			 {"1.5s", 1500}, {"250us", 1}, {"2h0m1s", 7201000}};
	for (size_t i = 0; i < ARRAY_SIZE(durations); i++) {
		uint64_t ms = 0;
		TAP_OK(o2v_parse_duration("-x", durations[i].spec, &ms, &err) == 0 &&
			   ms == durations[i].ms,
		       "duration %s = %" PRIu64 " ms", durations[i].spec, durations[i].ms);
	}
	static const char *const bad_durations[] = {"", "10", "s", "1x", "-1s", "1s-", "25h", "0s"};
	for (size_t i = 0; i < ARRAY_SIZE(bad_durations); i++) {
		uint64_t ms = 0;
		TAP_OK(o2v_parse_duration("-x", bad_durations[i], &ms, &err) < 0,
		       "duration '%s' refused", bad_durations[i]);
	}
	/* logs --since: now is 2026-12-06T07:00:00Z = 1796540400 */
	static const struct {
		const char *spec;
		int64_t sec;
	} sinces[] = {{"10m", 1796539800},
		      {"1h30m", 1796535000},
		      {"2026-12-06T06:00:00Z", 1796536800},
		      {"2026-12-06T06:00:00.25Z", 1796536800},
		      {"2026-12-06T07:00:00+01:00", 1796536800},
		      {"2026-12-06T05:00:00-01:00", 1796536800},
		      {"1796536800", 1796536800},
		      {"1796536800.5", 1796536800}};
	for (size_t i = 0; i < ARRAY_SIZE(sinces); i++) {
		int64_t sec = 0;
		TAP_OK(o2v_parse_since("--since", sinces[i].spec, 1796540400, &sec, &err) == 0 &&
			   sec == sinces[i].sec,
		       "since %s = %" PRId64, sinces[i].spec, sinces[i].sec);
	}
	static const char *const bad_sinces[] = {"", "yesterday", "2026-13-01", "2026-12-07T25:00:00Z",
						 "2026-12-06T06:00:00+1", "-5m", "1e3"};
	for (size_t i = 0; i < ARRAY_SIZE(bad_sinces); i++) {
		int64_t sec = 0;
		TAP_OK(o2v_parse_since("--since", bad_sinces[i], 1796540400, &sec, &err) < 0,
		       "since '%s' refused", bad_sinces[i]);
	}
	TAP_IS_INT(PARSE(&o, &err, "--health-cmd", "curl -f localhost", "--health-interval", "2s",
			 "--health-retries", "5", "img"),
		   0, "--health-cmd --health-interval --health-retries");
	TAP_OK(o.health_cmd && o.health_interval_ms == 2000 && o.health_retries == 5,
	       "the healthcheck options");
	o2v_run_opts_release(&o);
	TAP_IS_INT(PARSE(&o, &err, "--restart", "on-failure:3", "-d", "img"), 0,
		   "--restart on-failure:3 -d");
	TAP_OK(o.restart == O2V_RESTART_ON_FAILURE && o.restart_max == 3, "the restart policy");
	o2v_run_opts_release(&o);
	TAP_IS_INT(PARSE(&o, &err, "--network", "tap0", "img"), -EINVAL, "an unknown network");
	TAP_OK(strstr(err.msg, "'tap0'") != NULL, "... named (%s)", err.msg);
	o2v_run_opts_release(&o);

	TAP_IS_INT(PARSE(&o, &err, "--add-host", "db:10.0.0.5", "--add-host=gw=host-gateway",
			 "--add-host", "v6:[2001:db8::1]", "--add-host", "w6=fe80::1", "--dns",
			 "1.1.1.1", "--dns=2606:4700::1111", "img"),
		   0, "--add-host and --dns in all their spellings");
	TAP_OK(o.hosts && o.hosts[0] && o.hosts[1] && o.hosts[2] && o.hosts[3] && !o.hosts[4],
	       "four host lines");
	TAP_IS_STR(o.hosts[0], "10.0.0.5\tdb", "NAME:ADDR");
	TAP_IS_STR(o.hosts[1], "host-gateway\tgw", "NAME=host-gateway: resolved at run time");
	TAP_IS_STR(o.hosts[2], "2001:db8::1\tv6", "NAME:[IPv6] loses its brackets");
	TAP_IS_STR(o.hosts[3], "fe80::1\tw6", "NAME=IPv6");
	struct o2v_error gw_err = {0};
	TAP_IS_INT(o2v_hosts_resolve(o.hosts, false, false, &gw_err), -ENETUNREACH,
		   "host-gateway without a network: an error");
	TAP_OK(strstr(gw_err.msg, "host-gateway") != NULL, "... naming it (%s)", gw_err.msg);
	TAP_IS_INT(o2v_hosts_resolve(o.hosts, true, false, &gw_err), 0, "host-gateway resolved");
	TAP_OK(strncmp(o.hosts[1], "host-gateway", 12) && strncmp(o.hosts[1], "127.", 4) &&
		   strncmp(o.hosts[1], "10.0.2.2\t", 9) && strstr(o.hosts[1], "\tgw"),
	       "... to an address of the host that is not loopback nor the gateway (%s)",
	       o.hosts[1]);
	TAP_IS_STR(o.hosts[0], "10.0.0.5\tdb", "... other lines unchanged");
	TAP_OK(o.dns && !strcmp(o.dns[0], "1.1.1.1") && !strcmp(o.dns[1], "2606:4700::1111") &&
		   !o.dns[2],
	       "two nameservers, in order");
	o2v_run_opts_release(&o);
}

static void test_verbose_vs_volume(void)
{
	struct o2v_run_opts o;
	struct o2v_error err;

	TAP_IS_INT(PARSE(&o, &err, "-v", "img"), 0, "-v without HOST:GUEST");
	TAP_OK(o.verbose && o.n_volumes == 0, "-v alone is verbose");
	TAP_IS_STR(o.ref, "img", "and REF is not eaten");
	o2v_run_opts_release(&o);

	TAP_IS_INT(PARSE(&o, &err, "-v", "/tmp:/data:ro", "img"), 0, "-v HOST:GUEST:ro");
	TAP_OK(!o.verbose && o.n_volumes == 1 && o.volumes[0].readonly, "a read-only volume");
	TAP_IS_STR(o.volumes[0].guest, "/data", "guest path");
	o2v_run_opts_release(&o);
}

static void expect_usage_error(const char *what, const char *needle, int r,
			       const struct o2v_error *err)
{
	TAP_IS_INT(r, -EINVAL, "%s is a usage error", what);
	if (!TAP_OK(strstr(err->msg, needle) != NULL, "%s: message names '%s'", what, needle))
		printf("#   message: %s\n", err->msg);
}

static void test_bad_input(void)
{
	struct o2v_run_opts o;
	struct o2v_error err;
	int r;

	r = PARSE(&o, &err, "-p", "70000:1", "img");
	expect_usage_error("-p 70000:1", "70000", r, &err);
	o2v_run_opts_release(&o);
	r = PARSE(&o, &err, "-p", "a:b", "img");
	expect_usage_error("-p a:b", "'a'", r, &err);
	o2v_run_opts_release(&o);
	r = PARSE(&o, &err, "-p", "80", "img");
	expect_usage_error("-p 80", "HOSTPORT:GUESTPORT", r, &err);
	o2v_run_opts_release(&o);
	r = PARSE(&o, &err, "-p", "80:80", "-p", "80:81", "img");
	expect_usage_error("duplicate host port", "published twice", r, &err);
	o2v_run_opts_release(&o);
	r = PARSE(&o, &err, "--add-host", "db", "img");
	expect_usage_error("--add-host without an address", "NAME:ADDRESS", r, &err);
	o2v_run_opts_release(&o);
	r = PARSE(&o, &err, "--add-host", "db:not-an-ip", "img");
	expect_usage_error("--add-host with a name for an address", "not an IP address", r, &err);
	o2v_run_opts_release(&o);
	r = PARSE(&o, &err, "--add-host", "bad_name:10.0.0.1", "img");
	expect_usage_error("--add-host with an invalid name", "NAME:ADDRESS", r, &err);
	o2v_run_opts_release(&o);
	r = PARSE(&o, &err, "--dns", "dns.example", "img");
	expect_usage_error("--dns with a name", "expected an IP address", r, &err);
	o2v_run_opts_release(&o);
	r = PARSE(&o, &err, "--network", "none", "--dns", "1.1.1.1", "img");
	expect_usage_error("--dns with --network none", "--network none", r, &err);
	o2v_run_opts_release(&o);
	r = PARSE(&o, &err, "--network", "host", "img");
	expect_usage_error("--network host", "'host'", r, &err);
	o2v_run_opts_release(&o);
	r = PARSE(&o, &err, "--network", "none", "-p", "80:80", "img");
	expect_usage_error("--network none with -p", "--network none", r, &err);
	o2v_run_opts_release(&o);
	r = PARSE(&o, &err, "-p", "1.2.3:80:80", "img");
	expect_usage_error("bad bind address", "not an IP address", r, &err);
	o2v_run_opts_release(&o);
	r = PARSE(&o, &err, "-p", "80:80/sctp", "img");
	expect_usage_error("bad protocol", "sctp", r, &err);
	o2v_run_opts_release(&o);
	r = PARSE(&o, &err, "-v", "/nonexistent-o2v:/x", "img");
	expect_usage_error("missing host dir", "does not exist", r, &err);
	o2v_run_opts_release(&o);
	r = PARSE(&o, &err, "-v", "/tmp:rel", "img");
	expect_usage_error("relative guest path", "must be absolute", r, &err);
	o2v_run_opts_release(&o);
	r = PARSE(&o, &err, "--memory", "1K", "img");
	expect_usage_error("--memory 1K", "too small", r, &err);
	o2v_run_opts_release(&o);
	r = PARSE(&o, &err, "--memory", "lots", "img");
	expect_usage_error("--memory lots", "invalid size", r, &err);
	o2v_run_opts_release(&o);
	r = PARSE(&o, &err, "--cpus", "0", "img");
	expect_usage_error("--cpus 0", "--cpus", r, &err);
	o2v_run_opts_release(&o);
	r = PARSE(&o, &err, "--accel", "xen", "img");
	expect_usage_error("--accel xen", "auto, kvm or tcg", r, &err);
	o2v_run_opts_release(&o);
	r = PARSE(&o, &err, "--bogus", "img");
	expect_usage_error("unknown option", "--bogus", r, &err);
	o2v_run_opts_release(&o);
	r = PARSE(&o, &err, "-p");
	expect_usage_error("missing value", "needs a value", r, &err);
	o2v_run_opts_release(&o);
	r = PARSE(&o, &err, "--rm");
	expect_usage_error("missing image", "missing image reference", r, &err);
	o2v_run_opts_release(&o);
	r = PARSE(&o, &err, "-d", "-t", "img");
	expect_usage_error("-d -t", "-t needs a terminal", r, &err);
	o2v_run_opts_release(&o);
	r = PARSE(&o, &err, "--name", "-bad", "img");
	TAP_OK(r < 0, "--name -bad is refused");
	o2v_run_opts_release(&o);
	r = PARSE(&o, &err, "--name", "a/b", "img");
	expect_usage_error("--name a/b", "invalid name", r, &err);
	o2v_run_opts_release(&o);
	r = PARSE(&o, &err, "-w", "rel", "img");
	expect_usage_error("-w rel", "absolute", r, &err);
	o2v_run_opts_release(&o);
}

static void test_sizes_and_ports(void)
{
	struct o2v_error err;
	uint64_t b;
	struct o2v_port p;

	TAP_OK(o2v_parse_size("512", &b, &err) == 0 && b == 512ULL << 20, "bare number is MiB");
	TAP_OK(o2v_parse_size("2GiB", &b, &err) == 0 && b == 2ULL << 30, "2GiB");
	TAP_OK(o2v_parse_size("100k", &b, &err) == 0 && b == 100ULL << 10, "100k");
	TAP_OK(o2v_parse_size("-1", &b, &err) < 0, "negative size refused");
	TAP_OK(o2v_parse_size("99999999999999999999", &b, &err) < 0, "overflow refused");
	TAP_OK(o2v_parse_port("0.0.0.0:8080:80/udp", &p, &err) == 0 && p.udp &&
		   !strcmp(p.bind, "0.0.0.0") && p.host == 8080,
	       "0.0.0.0:8080:80/udp");
	TAP_OK(o2v_parse_port("[::1]:8080:80", &p, &err) == 0 && !strcmp(p.bind, "::1"),
	       "[::1]:8080:80");
	TAP_OK(o2v_parse_port("0:80", &p, &err) < 0, "host port 0 refused");
}

static void test_port_in_use(void)
{
	struct o2v_error err;
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	struct o2v_port p;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	TAP_OK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 1) == 0 &&
		   getsockname(fd, (struct sockaddr *)&a, &len) == 0,
	       "listen on a free port");
	memset(&p, 0, sizeof(p));
	strcpy(p.bind, "127.0.0.1");
	p.host = ntohs(a.sin_port);
	p.guest = 80;
	TAP_IS_INT(o2v_ports_check_free(&p, 1, &err), -EADDRINUSE, "a used port is detected");
	TAP_OK(strstr(err.msg, "already in use") != NULL, "message says already in use");
	close(fd);
	TAP_IS_INT(o2v_ports_check_free(&p, 1, &err), 0, "the port is free again after close");
}

int main(void)
{
	test_design_card_example();
	test_command_split();
	test_verbose_vs_volume();
	test_bad_input();
	test_sizes_and_ports();
	test_port_in_use();
	return tap_done();
}
