#include <string.h>
#include <sys/time.h>

#include "diag.h"
#include "sig.h"

volatile sig_atomic_t sig_term, sig_hup, sig_usr1, sig_alrm;

static void on_signal(int signo)
{
	switch (signo) {
	case SIGTERM:
	case SIGINT: sig_term = 1; break;
	case SIGHUP: sig_hup = 1; break;
	case SIGUSR1: sig_usr1 = 1; break;
	case SIGALRM: sig_alrm = 1; break;
	}
}

void sig_setup(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	static const int signals[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGALRM };
	for (size_t i = 0; i < sizeof signals / sizeof *signals; i++)
		if (sigaction(signals[i], &sa, NULL) < 0)
			diesys(1, "sigaction %d", signals[i]);
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		diesys(1, "sigaction SIGPIPE");
}

void sig_every(double seconds)
{
	struct itimerval it;
	it.it_interval.tv_sec = (time_t)seconds;
	it.it_interval.tv_usec = (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6);
	if (!it.it_interval.tv_sec && !it.it_interval.tv_usec)
		it.it_interval.tv_usec = 1000;
	it.it_value = it.it_interval;
	if (setitimer(ITIMER_REAL, &it, NULL) < 0)
		diesys(1, "setitimer");
}
