/* cmd_login.c - `oci2vm login`: check credentials with the registry, then store
 * them the way `docker login` does (config.json or the configured helper). */
#include "../common/o2v.h"

#include <getopt.h>
#include <string.h>
#include <termios.h>

#include "../registry/login.h"
#include "cli.h"
#include "commands.h"

#define LOGIN_INSECURE_MAX 16

/* Read one line (without its newline) into buf. Returns false on EOF/overflow. */
static bool read_line(FILE *in, char *buf, size_t size)
{
	if (!fgets(buf, (int)size, in))
		return false;
	size_t len = strlen(buf);
	if (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	else if (len == size - 1)
		return false; /* longer than we accept */
	if (len && buf[len - 1] == '\r')
		buf[--len] = '\0';
	return true;
}

/* Prompt on the terminal; the password without echo. */
static bool prompt(const char *what, bool echo, char *buf, size_t size)
{
	struct termios old, quiet;
	bool restore = false;
	bool ok;

	fprintf(stderr, "%s: ", what);
	fflush(stderr);
	if (!echo && tcgetattr(STDIN_FILENO, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
	}
	ok = read_line(stdin, buf, size);
	if (restore) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	return ok;
}

/* --password-stdin: everything on stdin, without the final newline (docker trims
 * trailing CR/LF only, so passwords with inner spaces survive). */
static bool read_stdin_secret(char *buf, size_t size)
{
	size_t len = fread(buf, 1, size - 1, stdin);

	if (len == size - 1 && fgetc(stdin) != EOF)
		return false;
	buf[len] = '\0';
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	return true;
}

struct login_args {
	const char *insecure[LOGIN_INSECURE_MAX + 1];
	size_t n_insecure;
	char user[O2V_CRED_USERNAME_MAX];
	char pass[O2V_CRED_SECRET_MAX];
	bool have_user, have_pass, pass_stdin;
	const char *server;
};

static int apply_option(struct login_args *a, int c, int argc, char **argv)
{
	switch (c) {
	case 'u':
		if (strlen(optarg) >= sizeof(a->user))
			return o2v_cli_usage_error("login", "user name too long");
		strcpy(a->user, optarg);
		a->have_user = true;
		return 0;
	case 'p':
		if (strlen(optarg) >= sizeof(a->pass))
			return o2v_cli_usage_error("login", "password too long");
		strcpy(a->pass, optarg);
		explicit_bzero(optarg, strlen(optarg)); /* hide it from ps where possible */
		a->have_pass = true;
		return 0;
	case 's':
		a->pass_stdin = true;
		return 0;
	case 'k':
		if (a->n_insecure == LOGIN_INSECURE_MAX)
			return o2v_cli_usage_error("login", "too many --insecure-registry");
		a->insecure[a->n_insecure++] = optarg;
		return 0;
	default:
		return o2v_cli_option_usage("login", c, argc, argv);
	}
}

/* Options and operands: 0, or an exit code with the usage error printed. */
static int parse_args(struct login_args *a, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "username", required_argument, NULL, 'u' },
		{ "password", required_argument, NULL, 'p' },
		{ "password-stdin", no_argument, NULL, 's' },
		{ "insecure-registry", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	int c, r;

	while ((c = getopt_long(argc, argv, "+:u:p:", longopts, NULL)) != -1)
		if ((r = apply_option(a, c, argc, argv)) != 0)
			return r;
	if (argc - optind > 1)
		return o2v_cli_usage_error("login", "takes at most one SERVER");
	if (a->have_pass && a->pass_stdin)
		return o2v_cli_usage_error("login", "--password and --password-stdin are exclusive");
	if (a->pass_stdin && !a->have_user)
		return o2v_cli_usage_error("login", "--password-stdin needs --username");
	a->server = optind < argc ? argv[optind] : "docker.io";
	return 0;
}

/* The user name and password from the options, stdin or the terminal: 0 or an exit code. */
static int ask_credentials(struct login_args *a)
{
	bool tty = isatty(STDIN_FILENO) == 1;

	if (!a->have_user && !(tty && prompt("Username", true, a->user, sizeof(a->user)) &&
			       a->user[0]))
		return tty ? o2v_cli_usage_error("login", "a user name is required")
			   : o2v_cli_usage_error("login", "no user name: use -u USER");
	if (a->pass_stdin) {
		if (!read_stdin_secret(a->pass, sizeof(a->pass)))
			return o2v_cli_usage_error("login", "password on stdin too long");
	} else if (!a->have_pass && !(tty && prompt("Password", false, a->pass, sizeof(a->pass)))) {
		return o2v_cli_usage_error("login", "no password: use --password-stdin or -p");
	}
	if (!a->pass[0])
		return o2v_cli_usage_error("login", "the password is empty");
	return 0;
}

int cmd_login(int argc, char **argv)
{
	struct login_args a = {0};
	struct o2v_error err = {0};
	_cleanup_free_ char *domain = NULL, *where = NULL;
	int rc;

	if ((rc = parse_args(&a, argc, argv)) != 0)
		goto out;
	if (o2v_login_domain(a.server, &domain, &err) < 0) {
		rc = o2v_cli_fail(&err);
		goto out;
	}
	if (a.have_pass)
		o2v_cli_warn("using --password on the command line is insecure; use "
			     "--password-stdin");
	if ((rc = ask_credentials(&a)) != 0)
		goto out;
	if (o2v_login_verify(domain, a.user, a.pass, a.insecure, &err) < 0 ||
	    o2v_credentials_store(domain, a.user, a.pass, &where, &err) < 0) {
		rc = o2v_cli_fail(&err);
		goto out;
	}
	if (where && where[0] == '/')
		o2v_cli_warn("the password is stored unencrypted in '%s'; configure a credential "
			     "helper to avoid this",
			     where);
	printf("Login Succeeded\n");
out:
	explicit_bzero(a.pass, sizeof(a.pass));
	return rc;
}
