/* sig: the signals of qspipe-events(5) (conventions), turned into flags the main loop reads. */
#ifndef SIG_H
#define SIG_H
#include <signal.h>

/* Set by the handlers; a tool clears the ones it has acted on. Installed without SA_RESTART,
 * so a blocking read or poll returns EINTR and the loop sees the flag at once. */
extern volatile sig_atomic_t sig_term;	/* SIGTERM or SIGINT */
extern volatile sig_atomic_t sig_hup;
extern volatile sig_atomic_t sig_usr1;
extern volatile sig_atomic_t sig_alrm;	/* sig_every's timer went off */

/* Installs the handlers and ignores SIGPIPE (a closed output is an EPIPE write error). */
void sig_setup(void);
/* Interrupts a blocking read or poll every `seconds` (SIGALRM), so that work due on a clock
 * (writing metrics) is done while the input is idle. After sig_setup. */
void sig_every(double seconds);

#endif
