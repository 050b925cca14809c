
/*
 * tests/bench/write_cost.c: what the kernel charges the writer of a
 * response, per write(2) of a given size, on a loopback TCP connection
 * whose reader (another thread, as wrk is another process) drains it.
 *
 * bench.py (Bench.write_costs) prints the price of one more write (a
 * 5-byte last chunk sent on its own) and of the banner's bytes (the page
 * written with and without them): on a virtual machine a system call
 * and the loopback's delivery to the reader cost microseconds, which an
 * instruction count (callgrind) does not see, and which bound what any
 * inserter of the same bytes can reach against one that writes more.
 *
 * usage: write_cost WRITER_CPU READER_CPU SIZE...
 *        a CPU of -1 is not pinned
 * stdout: "SIZE NS NS...\n" per size: the writer thread's CPU time per
 *         write in each of 15 rounds of 3000 writes, sizes interleaved
 *         (the caller pairs sizes by round, as the bench pairs cases);
 *         then "getppid NS NS...\n": a system call that does no work
 *         (no vDSO), the price of entering the kernel.
 */


#define _GNU_SOURCE

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>


#define ROUNDS  15
#define WRITES  3000
#define MAXSIZE (1 << 20)


static int  reader_fd, reader_cpu;


static void
pin(int cpu)
{
    cpu_set_t  set;

    if (cpu < 0) {
        return;
    }

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void) sched_setaffinity(0, sizeof(set), &set);
}


static void *
drain(void *arg)
{
    static char  buf[65536];

    (void) arg;
    pin(reader_cpu);

    while (read(reader_fd, buf, sizeof(buf)) > 0) {
        /* as a client would: read and drop */
    }

    return NULL;
}


static double
thread_ns(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}


int
main(int argc, char **argv)
{
    int                 ls, w, one, i, r, k, n;
    char               *data;
    size_t              size[16];
    double              t0, cost[16][ROUNDS], sys[ROUNDS];
    socklen_t           len;
    pthread_t           th;
    struct sockaddr_in  sa;

    if (argc < 4 || argc - 3 > 16) {
        fprintf(stderr, "usage: write_cost WRITER_CPU READER_CPU SIZE...\n");
        return 2;
    }

    reader_cpu = atoi(argv[2]);
    n = argc - 3;

    for (i = 0; i < n; i++) {
        size[i] = (size_t) strtoul(argv[3 + i], NULL, 10);
        if (size[i] == 0 || size[i] > MAXSIZE) {
            fprintf(stderr, "write_cost: size %s out of range\n", argv[3 + i]);
            return 2;
        }
    }

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof(sa);

    ls = socket(AF_INET, SOCK_STREAM, 0);
    w = socket(AF_INET, SOCK_STREAM, 0);

    if (ls == -1 || w == -1
        || bind(ls, (struct sockaddr *) &sa, sizeof(sa)) == -1
        || getsockname(ls, (struct sockaddr *) &sa, &len) == -1
        || listen(ls, 1) == -1
        || connect(w, (struct sockaddr *) &sa, sizeof(sa)) == -1
        || (reader_fd = accept(ls, NULL, NULL)) == -1)
    {
        perror("write_cost: loopback connection");
        return 1;
    }

    /* nginx's keep-alive connections run with TCP_NODELAY */
    one = 1;
    (void) setsockopt(w, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    if (pthread_create(&th, NULL, drain, NULL) != 0) {
        perror("write_cost: reader thread");
        return 1;
    }

    pin(atoi(argv[1]));

    data = malloc(MAXSIZE);
    if (data == NULL) {
        return 1;
    }

    memset(data, 'x', MAXSIZE);

    for (r = 0; r < ROUNDS; r++) {
        for (i = 0; i < n; i++) {
            t0 = thread_ns();

            for (k = 0; k < WRITES; k++) {
                if (write(w, data, size[i]) != (ssize_t) size[i]) {
                    perror("write_cost: write");
                    return 1;
                }
            }

            cost[i][r] = (thread_ns() - t0) / WRITES;
        }

        t0 = thread_ns();

        for (k = 0; k < WRITES; k++) {
            (void) syscall(SYS_getppid);
        }

        sys[r] = (thread_ns() - t0) / WRITES;
    }

    for (i = 0; i < n; i++) {
        printf("%zu", size[i]);

        for (r = 0; r < ROUNDS; r++) {
            printf(" %.0f", cost[i][r]);
        }

        printf("\n");
    }

    printf("getppid");

    for (r = 0; r < ROUNDS; r++) {
        printf(" %.0f", sys[r]);
    }

    printf("\n");

    return 0;
}
