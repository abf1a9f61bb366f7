/* fake_registry: the in-memory test registry as a process, for integration
 * tests (see fake_registry.h for what it answers and how to steer it).
 *
 *   fake_registry [--port N] [--port-file F] [--first-id N] [--preload DIR]
 *                 [--auth user:password] [--quiet]
 *
 * Serves on 127.0.0.1 until SIGTERM or SIGINT. With --port-file the port is
 * written to F (atomically) once it listens. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_registry.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int write_port(const char *path, unsigned port)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return -1;
    fprintf(f, "%u\n", port);
    if (fclose(f) != 0) return -1;
    return rename(tmp, path);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"port", required_argument, NULL, 'p'},     {"port-file", required_argument, NULL, 'f'},
        {"first-id", required_argument, NULL, 'i'}, {"preload", required_argument, NULL, 'l'},
        {"auth", required_argument, NULL, 'a'},     {"quiet", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0}};
    unsigned port = 0;
    int first_id = 1, opt;
    const char *port_file = NULL, *preload = NULL, *auth = NULL;
    int quiet = 0;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'p': port = (unsigned)atoi(optarg); break;
        case 'f': port_file = optarg; break;
        case 'i': first_id = atoi(optarg); break;
        case 'l': preload = optarg; break;
        case 'a': auth = optarg; break;
        case 'q': quiet = 1; break;
        default:
            fprintf(stderr, "usage: fake_registry [--port N] [--port-file F] [--first-id N] "
                            "[--preload DIR] [--auth user:password] [--quiet]\n");
            return 2;
        }
    }
    /* The server's threads inherit a mask blocking the stop signals, so they
     * reach the main thread, which waits for them in sigsuspend(). */
    sigset_t stop_signals, waiting;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &waiting);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    char err[512];
    fake_registry *fr = fake_registry_start(port, first_id, err, sizeof err);
    if (!fr) {
        fprintf(stderr, "fake_registry: %s\n", err);
        return 1;
    }
    if (!quiet) fake_registry_log_to(fr, stderr);
    if (preload && fake_registry_preload(fr, preload, err, sizeof err) != 0) {
        fprintf(stderr, "fake_registry: %s\n", err);
        fake_registry_stop(fr);
        return 1;
    }
    if (auth) fake_registry_require_auth(fr, auth);
    if (port_file && write_port(port_file, fake_registry_port(fr)) != 0) {
        perror(port_file);
        fake_registry_stop(fr);
        return 1;
    }
    fprintf(stderr, "fake_registry: listening on 127.0.0.1:%u\n", fake_registry_port(fr));
    sigdelset(&waiting, SIGTERM);
    sigdelset(&waiting, SIGINT);
    while (!stop) sigsuspend(&waiting);
    fake_registry_stop(fr);
    return 0;
}
