/* crvs-devbroker: the development broker.
 *
 * DEVELOPMENT AND TESTS ONLY. This is librdkafka's mock cluster in a process
 * of its own: it speaks the real Kafka protocol over TCP on 127.0.0.1, so the
 * services, crvsctl and kcat talk to it exactly as they would to a cluster,
 * but:
 *   - everything is in memory: nothing survives a restart (topics, messages,
 *     committed offsets are all gone; the listening ports change too);
 *   - each partition keeps only about 5 MiB (or 100k batches); older data is
 *     dropped silently, so a burst produced far ahead of the consumers loses
 *     messages;
 *   - no transactions worth the name, no Admin API, no TLS or SASL.
 * Production never runs this program: kafka.bootstrap.servers points at a
 * real Kafka cluster instead.
 *
 * What it does: creates the hub's topics (replication factor 1), writes the
 * bootstrap address to --bootstrap-file (write a temporary file, then
 * rename, so a waiter sees either nothing or the whole address), logs one
 * event=ready line, and runs until SIGTERM or SIGINT. It then destroys the
 * cluster, removes the bootstrap and pid files it wrote and exits 0.
 *
 * Exit status: 0 after a signal-requested stop, 1 when the cluster cannot be
 * built or a file cannot be written, 2 on a usage error. */
/* POSIX.1-2008 for sigaction, strtok_r, strdup, clock_gettime when built
 * stand-alone; the meson build defines _GNU_SOURCE, a superset. */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define DEVBROKER_NAME "crvs-devbroker"
#define DEFAULT_TOPICS "birth-certificate,death-notice,divorce-judgment,civil-registration"
/* Upper bounds that only guard against typos (--partitions 3000). */
#define MAX_BROKERS 16
#define MAX_PARTITIONS 256

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* One key=value line per event on stderr, in the format of common/hub_log
 * (this program deliberately links nothing but librdkafka). */
__attribute__((format(printf, 2, 3))) static void
log_event(const char *level, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line,
                     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s svc=%s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L, level,
                     DEVBROKER_NAME);
    if (n < 0 || (size_t)n >= sizeof line) return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (m < 0) return;
    fprintf(stderr, "%s\n", line);
    fflush(stderr);
}

/* Parses a decimal integer in [min, max]; false on anything else. */
static bool parse_int(const char *s, int min, int max, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) return false;
    *out = (int)v;
    return true;
}

/* write(2) until everything is written; -1 with errno on failure. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Writes `text` plus a newline to `path` through a temporary file in the same
 * folder and rename(2), so that a reader never sees a partial file.
 * Returns 0, or -1 with errstr saying what failed. */
__attribute__((warn_unused_result)) static int
write_file_atomically(const char *path, const char *text, char *errstr,
                      size_t errstr_size)
{
    char tmp[PATH_MAX];
    int fd = -1, rc = -1;
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp) {
        snprintf(errstr, errstr_size, "%s: path too long", path);
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(errstr, errstr_size, "%.300s: open: %s", tmp, strerror(errno));
        goto cleanup;
    }
    if (write_all(fd, text, strlen(text)) != 0 || write_all(fd, "\n", 1) != 0) {
        snprintf(errstr, errstr_size, "%.300s: write: %s", tmp, strerror(errno));
        goto cleanup;
    }
    if (close(fd) != 0) {
        fd = -1;
        snprintf(errstr, errstr_size, "%.300s: close: %s", tmp, strerror(errno));
        goto cleanup;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        snprintf(errstr, errstr_size, "rename to %.300s: %s", path,
                 strerror(errno));
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (fd >= 0) close(fd);
    if (rc != 0) unlink(tmp);
    return rc;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " DEVBROKER_NAME " [--brokers N] [--partitions N] [--topics a,b,c]\n"
            "                      [--bootstrap-file PATH] [--pid-file PATH]\n"
            "\n"
            "An in-memory Kafka cluster (librdkafka mock cluster) for development\n"
            "and tests ONLY: nothing survives a restart and each partition keeps\n"
            "about 5 MiB. Production points kafka.bootstrap.servers at a real cluster.\n"
            "\n"
            "  --brokers N          brokers in the cluster (default 1)\n"
            "  --partitions N       partitions per topic (default 3)\n"
            "  --topics a,b,c       topics to create (default " DEFAULT_TOPICS ")\n"
            "  --bootstrap-file P   write the bootstrap address to P (atomically)\n"
            "  --pid-file P         write the process id to P\n"
            "Runs until SIGTERM or SIGINT.\n");
}

struct options {
    int brokers;
    int partitions;
    const char *topics;
    const char *bootstrap_file;
    const char *pid_file;
};

/* Returns -1 to continue, or the exit status to exit with. */
static int parse_options(int argc, char **argv, struct options *o)
{
    o->brokers = 1;
    o->partitions = 3;
    o->topics = DEFAULT_TOPICS;
    o->bootstrap_file = NULL;
    o->pid_file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, DEVBROKER_NAME ": %s: unknown option or missing value\n", a);
            usage(stderr);
            return 2;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--brokers")) {
            if (!parse_int(v, 1, MAX_BROKERS, &o->brokers)) {
                fprintf(stderr, DEVBROKER_NAME ": --brokers %s: want 1..%d\n", v, MAX_BROKERS);
                return 2;
            }
        } else if (!strcmp(a, "--partitions")) {
            if (!parse_int(v, 1, MAX_PARTITIONS, &o->partitions)) {
                fprintf(stderr, DEVBROKER_NAME ": --partitions %s: want 1..%d\n", v,
                        MAX_PARTITIONS);
                return 2;
            }
        } else if (!strcmp(a, "--topics")) {
            o->topics = v;
        } else if (!strcmp(a, "--bootstrap-file")) {
            o->bootstrap_file = v;
        } else if (!strcmp(a, "--pid-file")) {
            o->pid_file = v;
        } else {
            fprintf(stderr, DEVBROKER_NAME ": %s: unknown option\n", a);
            usage(stderr);
            return 2;
        }
    }
    return -1;
}

/* Creates every topic of the comma-separated list; empty items are ignored.
 * Returns 0, or -1 with errstr naming the topic that failed. */
__attribute__((warn_unused_result)) static int
create_topics(rd_kafka_mock_cluster_t *mc, const char *topics, int partitions,
              char *errstr, size_t errstr_size)
{
    int rc = -1, created = 0;
    char *list = strdup(topics);
    if (!list) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    char *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, t, partitions, 1);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(errstr, errstr_size, "topic %s: %s", t, rd_kafka_err2str(err));
            goto cleanup;
        }
        created++;
    }
    if (created == 0) {
        snprintf(errstr, errstr_size, "--topics '%s' names no topic", topics);
        goto cleanup;
    }
    rc = 0;
cleanup:
    free(list);
    return rc;
}

int main(int argc, char **argv)
{
    struct options opt;
    int status = parse_options(argc, argv, &opt);
    if (status >= 0) return status;
    status = 1;

    char errstr[512];
    rd_kafka_t *rk = NULL;
    rd_kafka_mock_cluster_t *mc = NULL;
    bool wrote_pid = false, wrote_bootstrap = false;

    /* Stop signals only set the flag; the main loop notices within 100 ms.
     * SIGPIPE is ignored so that a client hanging up cannot kill us. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* The mock cluster is bound to a client handle used only for its
     * bookkeeping; this producer never produces. */
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* log_level 4 (warning): the handle has no bootstrap.servers on purpose
     * and would otherwise say so at notice level on every start. */
    if (rd_kafka_conf_set(conf, "client.id", DEVBROKER_NAME, errstr, sizeof errstr) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof errstr) !=
            RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        log_event("error", "event=start_failed step=conf error=\"%s\"", errstr);
        goto cleanup;
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf); /* not taken over on failure */
        log_event("error", "event=start_failed step=rd_kafka_new error=\"%s\"", errstr);
        goto cleanup;
    }
    conf = NULL; /* owned by rk now */

    mc = rd_kafka_mock_cluster_new(rk, opt.brokers);
    if (!mc) {
        log_event("error", "event=start_failed step=mock_cluster_new brokers=%d",
                  opt.brokers);
        goto cleanup;
    }
    if (create_topics(mc, opt.topics, opt.partitions, errstr, sizeof errstr) != 0) {
        log_event("error", "event=start_failed step=topic_create error=\"%s\"", errstr);
        goto cleanup;
    }
    const char *bootstrap = rd_kafka_mock_cluster_bootstraps(mc);

    /* The pid file comes first: whoever sees the bootstrap file may rely on
     * the pid file being there to stop us. */
    if (opt.pid_file) {
        char pid[32];
        snprintf(pid, sizeof pid, "%ld", (long)getpid());
        if (write_file_atomically(opt.pid_file, pid, errstr, sizeof errstr) != 0) {
            log_event("error", "event=start_failed step=pid_file error=\"%s\"", errstr);
            goto cleanup;
        }
        wrote_pid = true;
    }
    if (opt.bootstrap_file) {
        if (write_file_atomically(opt.bootstrap_file, bootstrap, errstr, sizeof errstr) != 0) {
            log_event("error", "event=start_failed step=bootstrap_file error=\"%s\"", errstr);
            goto cleanup;
        }
        wrote_bootstrap = true;
    }
    log_event("info",
              "event=ready bootstrap=%s brokers=%d partitions=%d topics=%s pid=%ld "
              "note=in-memory-development-only",
              bootstrap, opt.brokers, opt.partitions, opt.topics, (long)getpid());

    while (!stop_requested) {
        struct timespec nap = {0, 100L * 1000L * 1000L};
        nanosleep(&nap, NULL); /* EINTR on a signal is what we want */
    }
    log_event("info", "event=stopping");
    status = 0;

cleanup:
    /* Remove the address first so nobody connects to a broker going away. */
    if (wrote_bootstrap && unlink(opt.bootstrap_file) != 0 && errno != ENOENT)
        log_event("warn", "event=unlink_failed path=%s error=\"%s\"", opt.bootstrap_file,
                  strerror(errno));
    if (mc) rd_kafka_mock_cluster_destroy(mc);
    if (rk) rd_kafka_destroy(rk);
    if (wrote_pid && unlink(opt.pid_file) != 0 && errno != ENOENT)
        log_event("warn", "event=unlink_failed path=%s error=\"%s\"", opt.pid_file,
                  strerror(errno));
    if (status == 0) log_event("info", "event=stopped");
    return status;
}
