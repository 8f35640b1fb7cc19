/* cmd_login.c - `oci2vm login`: check credentials with the registry, then store
 * them the way `docker login` does (config.json or the configured helper). */
#include "../common/o2v.h"

#include <getopt.h>
#include <string.h>
#include <termios.h>

#include "../registry/credentials.h"
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

int cmd_login(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "username", required_argument, NULL, 'u' },
		{ "password", required_argument, NULL, 'p' },
		{ "password-stdin", no_argument, NULL, 's' },
		{ "insecure-registry", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	const char *insecure[LOGIN_INSECURE_MAX + 1] = { 0 };
	size_t n_insecure = 0;
	char user[O2V_CRED_USERNAME_MAX] = "";
	char pass[O2V_CRED_SECRET_MAX] = "";
	bool have_user = false, have_pass = false, pass_stdin = false;
	struct o2v_error err = { 0 };
	_cleanup_free_ char *domain = NULL, *where = NULL;
	int c, r, rc = O2V_EXIT_OK;

	while ((c = getopt_long(argc, argv, "+u:p:", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			if (strlen(optarg) >= sizeof(user))
				return o2v_cli_usage_error("login", "user name too long");
			strcpy(user, optarg);
			have_user = true;
			break;
		case 'p':
			if (strlen(optarg) >= sizeof(pass))
				return o2v_cli_usage_error("login", "password too long");
			strcpy(pass, optarg);
			explicit_bzero(optarg, strlen(optarg)); /* hide it from ps where possible */
			have_pass = true;
			break;
		case 's': pass_stdin = true; break;
		case 'k':
			if (n_insecure == LOGIN_INSECURE_MAX)
				return o2v_cli_usage_error("login", "too many --insecure-registry");
			insecure[n_insecure++] = optarg;
			break;
		default: return o2v_cli_usage_error("login", "unknown option");
		}
	}
	if (argc - optind > 1)
		return o2v_cli_usage_error("login", "takes at most one SERVER");
	if (have_pass && pass_stdin) {
		explicit_bzero(pass, sizeof(pass));
		return o2v_cli_usage_error("login", "--password and --password-stdin are exclusive");
	}
	if (pass_stdin && !have_user)
		return o2v_cli_usage_error("login", "--password-stdin needs --username");
	r = o2v_login_domain(optind < argc ? argv[optind] : "docker.io", &domain, &err);
	if (r < 0) {
		explicit_bzero(pass, sizeof(pass));
		return o2v_cli_fail(&err);
	}
	if (have_pass)
		o2v_cli_warn("using --password on the command line is insecure; use "
			     "--password-stdin");

	bool tty = isatty(STDIN_FILENO) == 1;
	if (!have_user && !(tty && prompt("Username", true, user, sizeof(user)) && user[0])) {
		rc = tty ? o2v_cli_usage_error("login", "a user name is required")
			 : o2v_cli_usage_error("login", "no user name: use -u USER");
		goto out;
	}
	if (pass_stdin) {
		if (!read_stdin_secret(pass, sizeof(pass))) {
			rc = o2v_cli_usage_error("login", "password on stdin too long");
			goto out;
		}
	} else if (!have_pass && !(tty && prompt("Password", false, pass, sizeof(pass)))) {
		rc = o2v_cli_usage_error("login", "no password: use --password-stdin or -p");
		goto out;
	}
	if (!pass[0]) {
		rc = o2v_cli_usage_error("login", "the password is empty");
		goto out;
	}

	r = o2v_login_verify(domain, user, pass, insecure, &err);
	if (r >= 0)
		r = o2v_credentials_store(domain, user, pass, &where, &err);
	if (r < 0) {
		rc = o2v_cli_fail(&err);
		goto out;
	}
	if (where && where[0] == '/')
		o2v_cli_warn("the password is stored unencrypted in '%s'; configure a credential "
			     "helper to avoid this",
			     where);
	printf("Login Succeeded\n");
out:
	explicit_bzero(pass, sizeof(pass));
	return rc;
}
