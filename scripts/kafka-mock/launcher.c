/*
 * Starts librdkafka's mock Kafka cluster (3 brokers, listening on 127.0.0.1
 * ephemeral ports), prints its bootstrap servers on one line to stdout, then
 * runs until stdin closes or SIGTERM/SIGINT arrives. Test setup spawns it and
 * kills it on teardown; closing stdin means the cluster dies with its parent.
 *
 * Commands on stdin, one per line (for fault-injection tests):
 *   drop   take every broker down and up again, which closes every client
 *          connection; answers "dropped" on stdout when done.
 *
 * Usage: kafka-mock [broker-count]
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig) {
        (void)sig;
        stop_requested = 1;
}

int main(int argc, char **argv) {
        char errstr[512];
        int brokers = argc > 1 ? atoi(argv[1]) : 3;
        if (brokers < 1) brokers = 3;

        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        /* The handle only hosts the mock cluster; keep it quiet. */
        if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                fprintf(stderr, "kafka-mock: %s\n", errstr);
                return 1;
        }
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "kafka-mock: rd_kafka_new failed: %s\n", errstr);
                return 1;
        }
        rd_kafka_mock_cluster_t *mcluster = rd_kafka_mock_cluster_new(rk, brokers);
        if (!mcluster) {
                fprintf(stderr, "kafka-mock: rd_kafka_mock_cluster_new failed\n");
                rd_kafka_destroy(rk);
                return 1;
        }

        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        printf("%s\n", rd_kafka_mock_cluster_bootstraps(mcluster));
        fflush(stdout);

        /* Serve commands until stdin reaches EOF (parent gone) or a signal asks to stop. */
        char line[256];
        size_t used = 0;
        while (!stop_requested) {
                struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
                int n = poll(&pfd, 1, 500);
                if (n <= 0) continue; /* timeout or EINTR: re-check stop_requested */
                ssize_t r = read(STDIN_FILENO, line + used, sizeof(line) - 1 - used);
                if (r <= 0) break;
                used += (size_t)r;
                line[used] = '\0';
                char *newline;
                while ((newline = strchr(line, '\n')) != NULL) {
                        *newline = '\0';
                        if (strcmp(line, "drop") == 0) {
                                for (int id = 1; id <= brokers; id++) rd_kafka_mock_broker_set_down(mcluster, id);
                                usleep(100 * 1000);
                                for (int id = 1; id <= brokers; id++) rd_kafka_mock_broker_set_up(mcluster, id);
                                printf("dropped\n");
                        } else {
                                printf("unknown command: %s\n", line);
                        }
                        fflush(stdout);
                        size_t rest = used - (size_t)(newline + 1 - line);
                        memmove(line, newline + 1, rest + 1);
                        used = rest;
                }
                if (used == sizeof(line) - 1) used = 0; /* overlong line: discard */
        }

        rd_kafka_mock_cluster_destroy(mcluster);
        rd_kafka_destroy(rk);
        return 0;
}
