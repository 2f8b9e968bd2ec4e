/* hookmeter: what one run of a hook costs. Built static on the host by tests/vm/bench, run in
 * the guest (the guest image has no /usr/bin/time, and busybox time's figure would be its own
 * size: ru_maxrss keeps the pre-exec image of the forked parent).
 *
 *   hookmeter RUNS PAUSE_MS CMD [ARG...]
 *
 * Runs CMD RUNS times (environment inherited), PAUSE_MS apart, and prints one line per run:
 *   wall_us=N self_kb=N tree_kb=N rc=N
 *   wall_us  fork+exec to exit, as udev's RUN+= pays it
 *   self_kb  peak RSS (VmHWM) of CMD's own process image, read at its exit (ptrace
 *            PTRACE_EVENT_EXIT), so none of this meter's pre-exec pages count
 *   tree_kb  ru_maxrss from wait4: CMD and the children it waited for (systemctl, ...),
 *            whichever was largest
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long hwm_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmHWM: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: hookmeter RUNS PAUSE_MS CMD [ARG...]\n");
		return 2;
	}
	int runs = atoi(argv[1]), pause_ms = atoi(argv[2]);
	for (int i = 0; i < runs; i++) {
		if (i && pause_ms > 0)
			usleep(pause_ms * 1000);
		double t0 = now_us();
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			ptrace(PTRACE_TRACEME, 0, 0, 0);
			raise(SIGSTOP);
			execvp(argv[3], argv + 3);
			_exit(127);
		}
		int st;
		struct rusage ru;
		long self_kb = -1;
		if (waitpid(pid, &st, 0) < 0 || !WIFSTOPPED(st)) {
			fprintf(stderr, "hookmeter: child did not stop\n");
			return 1;
		}
		ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC);
		ptrace(PTRACE_CONT, pid, 0, 0);
		for (;;) {
			if (wait4(pid, &st, 0, &ru) < 0) {
				if (errno == EINTR)
					continue;
				perror("wait4");
				return 1;
			}
			if (WIFEXITED(st) || WIFSIGNALED(st))
				break;
			if (!WIFSTOPPED(st))
				continue;
			int sig = WSTOPSIG(st), ev = st >> 16, deliver = 0;
			if (sig == SIGTRAP && ev == PTRACE_EVENT_EXIT)
				self_kb = hwm_kb(pid);
			else if (!(sig == SIGTRAP && ev == PTRACE_EVENT_EXEC))
				deliver = sig;
			ptrace(PTRACE_CONT, pid, 0, deliver);
		}
		double t1 = now_us();
		printf("wall_us=%.0f self_kb=%ld tree_kb=%ld rc=%d\n", t1 - t0, self_kb, ru.ru_maxrss,
		       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		fflush(stdout);
	}
	return 0;
}
